package dev.ephemera.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension handing integration tests a {@link TestServices}: real Kafka, PostgreSQL and S3, each started on
 * first use and shared by every test class in the JVM, stopped when the JVM's test run ends.
 *
 * <pre>{@code
 * @ExtendWith(RealServices.class)
 * class CatalogIT {
 *   @BeforeAll static void setUp(TestServices services) { ... services.freshDatabase() ... }
 * }
 * }</pre>
 */
public final class RealServices implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RealServices.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestServices.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context)
      throws ParameterResolutionException {
    return services(context);
  }

  /** The JVM-wide services, created on first use and closed when the root test context closes. */
  public static TestServices services(ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(Holder.class, key -> new Holder(new TestServices(System.getenv())), Holder.class)
        .services;
  }

  /** Closed by JUnit when the root context (the whole run) ends. */
  private record Holder(TestServices services) implements AutoCloseable {
    @Override
    public void close() {
      services.closeAll();
    }
  }
}
