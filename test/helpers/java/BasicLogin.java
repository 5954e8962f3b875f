// A Java 11+ client with nothing but java.net.http.HttpClient, which has no NTLM: it logs in
// through Basic over TLS, trusting the test certificate (a PEM file) through an SSLContext.
// Usage: java BasicLogin URL USER PASSWORD CERT.pem; prints "status=N" and the body of each of
// two requests (the second on the same client, which resends the credentials it learned).
import java.io.FileInputStream;
import java.net.Authenticator;
import java.net.PasswordAuthentication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class BasicLogin {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    char[] password = args[2].toCharArray();
    X509Certificate cert;
    try (FileInputStream in = new FileInputStream(args[3])) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("test", cert);
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, factory.getTrustManagers(), null);
    HttpClient client = HttpClient.newBuilder()
        .sslContext(tls)
        .version(HttpClient.Version.HTTP_1_1)
        .authenticator(new Authenticator() {
          @Override
          protected PasswordAuthentication getPasswordAuthentication() {
            System.out.println("scheme=" + getRequestingScheme() + " realm=" + getRequestingPrompt());
            return new PasswordAuthentication(user, password);
          }
        })
        .build();
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> response = client.send(
          HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
      System.out.println("status=" + response.statusCode());
      System.out.println("bearer=" + response.headers().firstValue("authorization").isPresent());
      System.out.println("body=" + response.body());
    }
  }
}
