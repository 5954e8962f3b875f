#!/usr/bin/env bash
# accounts.sh DIR: on the DC provisioned in DIR, adds what a web server needs on a hardened domain
# (from ../shared/hardened-domain): the machine account WEB01$ (Netlogon secure channel) and the
# service account httpsvc with SPN HTTP/localhost, AES only, its keytab exported to DIR/http.keytab.
# Needs the samdb only (DC stopped or running).
set -euo pipefail
dir=$(cd "$1" && pwd); conf="$dir/etc/smb.conf"; here=$(cd "$(dirname "$0")" && pwd)
st() { samba-tool "$@" -s "$conf" >>"$dir/log/accounts.log" 2>&1; }
st computer create WEB01 || true
st user setpassword 'WEB01$' --newpassword="${MACHINE_PASSWORD:-Web01-Machine-Passw0rd-123!}"
st user create httpsvc "${HTTPSVC_PASSWORD:-Httpsvc-Passw0rd-123!}" || true
st user setexpiry httpsvc --noexpiry
st spn add HTTP/localhost httpsvc || true
# Without msDS-SupportedEncryptionTypes the exported keytab holds only RC4; 24 = AES128 + AES256.
/usr/bin/python3 "$here/set-enctypes.py" "$conf" httpsvc 24 >>"$dir/log/accounts.log"
rm -f "$dir/http.keytab"; st domain exportkeytab "$dir/http.keytab" --principal=HTTP/localhost@EXAMPLE.TEST
echo "samba-dc: WEB01\$ and HTTP/localhost ready; keytab $dir/http.keytab"
