package dev.ephemera.dev;

import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 API (S3Proxy) on loopback, backed by memory or by a directory. Requests are authenticated with AWS
 * signature v2/v4, so clients exercise the same signing and presigning code paths as against AWS.
 */
public final class EmbeddedS3 implements AutoCloseable {
  public static final String ACCESS_KEY = "ephemera-access";
  public static final String SECRET_KEY = "ephemera-secret-key";
  public static final String REGION = "us-east-1";

  private final S3Proxy proxy;
  private final BlobStoreContext context;

  private EmbeddedS3(S3Proxy proxy, BlobStoreContext context) {
    this.proxy = proxy;
    this.context = context;
  }

  /** Starts S3Proxy on a free loopback port; {@code baseDir} null keeps blobs in memory. */
  public static EmbeddedS3 start(Path baseDir) throws Exception {
    Properties props = new Properties();
    String provider = baseDir == null ? "transient-nio2" : "filesystem-nio2";
    if (baseDir != null) {
      props.setProperty("jclouds.filesystem.basedir", baseDir.toString());
    }
    BlobStoreContext context =
        ContextBuilder.newBuilder(provider)
            .credentials(ACCESS_KEY, SECRET_KEY)
            .overrides(props)
            .build(BlobStoreContext.class);
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(context.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .build();
    proxy.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        proxy.stop();
        context.close();
        throw new IllegalStateException("S3Proxy did not start within 30 s (state " + proxy.getState() + ")");
      }
      Thread.onSpinWait();
      Thread.sleep(10);
    }
    return new EmbeddedS3(proxy, context);
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  @Override
  public void close() throws Exception {
    try {
      proxy.stop();
    } finally {
      context.close();
    }
  }
}
