package dev.ephemera;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.api.AdminApi;
import dev.ephemera.api.ApiServer;
import dev.ephemera.api.JobApi;
import dev.ephemera.api.SetRegistrar;
import dev.ephemera.archive.Limits;
import dev.ephemera.auth.DownloadLinks;
import dev.ephemera.auth.Signer;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.Topics;
import dev.ephemera.metrics.CatalogGauges;
import dev.ephemera.metrics.MeteredObjectStore;
import dev.ephemera.metrics.MeteredSql;
import dev.ephemera.metrics.Meters;
import dev.ephemera.store.ObjectStore;
import dev.ephemera.store.ObjectStores;
import dev.ephemera.worker.Collector;
import dev.ephemera.worker.Control;
import dev.ephemera.worker.EventApplier;
import dev.ephemera.worker.EventConsumer;
import dev.ephemera.worker.Faults;
import dev.ephemera.worker.OutboxPublisher;
import dev.ephemera.worker.TopicSetup;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Ephemera worker: the consumer, the outbox publisher, the HTTP API and {@code /metrics}, wired here and nowhere
 * else. It keeps no state of its own; start as many as there are partitions to share.
 */
public final class App implements AutoCloseable {
  private static final Logger LOGGER = LoggerFactory.getLogger(App.class);

  private final Catalog catalog;
  private final ObjectStore store;
  private final ApiServer api;
  private final EventConsumer consumer;
  private final OutboxPublisher publisher;
  private final Collector collector;
  private final CatalogGauges gauges;
  private final SetRegistrar registrar;
  private final List<Thread> threads = new ArrayList<>();

  private App(
      Catalog catalog,
      ObjectStore store,
      ApiServer api,
      EventConsumer consumer,
      OutboxPublisher publisher,
      Collector collector,
      CatalogGauges gauges,
      SetRegistrar registrar) {
    this.gauges = gauges;
    this.registrar = registrar;
    this.catalog = catalog;
    this.store = store;
    this.api = api;
    this.consumer = consumer;
    this.publisher = publisher;
    this.collector = collector;
  }

  /** Connects to everything, migrates the catalog, creates missing topics and starts serving. */
  public static App start(EphemeraConfig config, Clock clock) throws Exception {
    return start(config, clock, Faults.NONE);
  }

  /** As {@link #start(EphemeraConfig, Clock)}, with crash points for fault-injection tests. */
  public static App start(EphemeraConfig config, Clock clock, Faults faults) throws Exception {
    PrometheusMeterRegistry registry = Meters.prometheus();
    Meters meters = new Meters(registry);
    if (config.kafka().createTopics()) {
      TopicSetup.ensure(
          config.kafka().bootstrap(),
          config.kafka().topicPrefix(),
          config.kafka().partitions(),
          config.kafka().replicationFactor());
    }
    Catalog catalog =
        Catalog.open(
            config.database().url(),
            config.database().user(),
            config.database().password(),
            config.database().poolSize(),
            registry);
    MeteredSql.install(catalog.jdbi(), meters);
    ObjectStore store = new MeteredObjectStore(ObjectStores.fromConfig(config.store()), meters);
    Signer signer = new Signer(config.auth().signingKey(), config.auth().previousSigningKey(), clock);
    DownloadLinks links = new DownloadLinks(config.http().publicUrl(), signer, config.linkTtl());
    EventCodec codec = new EventCodec();
    // The collector emits through the applier's outbox writer, which needs the applier, which needs the control
    // handler, which hands GC requests to the collector: the holder breaks the cycle.
    Collector[] collector = new Collector[1];
    Control control =
        new Control(
            clock,
            meters,
            gc -> {
              meters.gcRequested();
              collector[0].request(gc);
            });
    // The applier settles registrations through the job API's registrar, which emits through the applier's outbox
    // writer: the holder breaks that cycle too.
    JobApi[] jobs = new JobApi[1];
    EventApplier applier =
        new EventApplier(catalog, codec, links, control, config.eventSource(), clock, meters,
            jobIds -> jobs[0].registrar().settle(jobIds));
    collector[0] =
        new Collector(catalog, store, applier::emit, clock, meters, config.gc().grace(), config.gc().interval());
    OutboxPublisher publisher =
        new OutboxPublisher(
            catalog,
            config.kafka().bootstrap(),
            config.kafka().topicPrefix(),
            Duration.ofMillis(100),
            clock,
            meters,
            faults);
    EventConsumer consumer =
        new EventConsumer(
            config.kafka().bootstrap(),
            config.kafka().group(),
            config.kafka().topicPrefix(),
            List.of(Topics.BUILDOMAT_JOBS, Topics.CONTROL),
            applier,
            Duration.ofSeconds(30),
            config.kafka().sessionTimeout(),
            faults,
            publisher::nudge,
            meters);
    ObjectMapper json = EventCodec.newMapper();
    JobApi jobApi =
        new JobApi(catalog, store, signer, links, config.auth().adminToken(), config.auth().jobTokenTtl(), clock, meters,
            config.store().s3DirectDownloads(), applier::emit, faults,
            new Limits(config.archive().maxEntries(), config.archive().maxBytes(), config.archive().maxRatio()));
    jobs[0] = jobApi;
    ApiServer api =
        new ApiServer(
            config.http().host(),
            config.http().port(),
            json,
            jobApi,
            new AdminApi(catalog, links, jobApi),
            registry,
            meters,
            List.of(
                new ApiServer.Check("postgres", catalog::ready),
                new ApiServer.Check("store", () -> checks(store)),
                new ApiServer.Check("kafka", () -> kafkaReady(config.kafka().bootstrap())),
                new ApiServer.Check("consumer", consumer::isRunning)));
    CatalogGauges gauges =
        CatalogGauges.start(catalog, meters, config.metrics().catalogInterval(), config.metrics().topOwners(), clock);
    App app = new App(catalog, store, api, consumer, publisher, collector[0], gauges, jobApi.registrar());
    app.threads.add(daemon("ephemera-consumer", consumer));
    app.threads.add(daemon("ephemera-outbox", publisher));
    app.threads.add(daemon("ephemera-collector", collector[0]));
    api.start();
    app.threads.forEach(Thread::start);
    jobApi.registrar().resume();
    LOGGER.atInfo().addKeyValue("port", api.port()).addKeyValue("store", store.describe()).log("ephemera worker started");
    return app;
  }

  private static boolean checks(ObjectStore store) {
    store.check();
    return true;
  }

  private static boolean kafkaReady(String bootstrap) {
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000))) {
      admin.describeCluster().nodes().get(3, java.util.concurrent.TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(false);
    return t;
  }

  public int apiPort() {
    return api.port();
  }

  public Catalog catalog() {
    return catalog;
  }

  public ObjectStore store() {
    return store;
  }

  /** The quota/eviction/GC collector (runs on its own thread; tests may also call {@link Collector#collect}). */
  public Collector collector() {
    return collector;
  }

  /** Stops taking work, finishes what is in hand, and closes connections. */
  @Override
  public void close() throws Exception {
    api.close();
    collector.stop();
    gauges.close();
    consumer.stop(Duration.ofSeconds(30));
    registrar.close();
    publisher.stop(Duration.ofSeconds(30));
    for (Thread t : threads) {
      t.join(5000);
    }
    store.close();
    catalog.close();
  }
}
