#!/usr/bin/python3
# add-loopback-a.py SMB_CONF: gives the DC's host name an A record of 127.0.0.1 in the provisioned
# zone. Samba's SRV records (_ldap._tcp.dc._msdcs, _kerberos._tcp, ...) name the DC by its host
# name (measured on 4.17: "<hostname>.example.test", port 389 / 88, priority 0, weight 100), but
# provision never writes an A record of 127.0.0.1 (determine_host_ip drops that address), and the
# DC listens on loopback only: without this record the SRV target resolves to nothing.
import socket
import sys

from samba.auth import system_session
from samba.param import LoadParm
from samba.provision.sambadns import add_host_record
from samba.samdb import SamDB

lp = LoadParm()
lp.load(sys.argv[1])
samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
realm = lp.get("realm").lower()
# The name provision itself gave the DC (samba.provision.guess_names).
host = socket.gethostname().split(".")[0].lower()
zone = "DC=%s,CN=MicrosoftDNS,DC=DomainDnsZones,%s" % (realm, samdb.domain_dn())
add_host_record(samdb, zone, "DC=%s" % host, "127.0.0.1", None)
print("%s.%s A 127.0.0.1" % (host, realm))
