package dev.ephemera.catalog;

import java.util.Objects;

import org.jdbi.v3.core.Handle;

/**
 * The catalog's DAOs bound to one open transaction (see {@link Catalog#inTransaction}). Everything done through one
 * {@code CatalogTx} commits or rolls back together; do not keep it past the callback.
 *
 * <p>The transaction runs at READ COMMITTED. Operations that race with other workers are written as single
 * conditional statements or take row locks ({@link SetDao#markLive}, {@link EventDao#markProcessed},
 * {@link OutboxDao#nextBatch}), so two workers never both move a head or apply the same event.
 */
public final class CatalogTx {

  private final Handle handle;
  private JobDao jobs;
  private SetDao sets;
  private HeadDao heads;
  private ChunkDao chunks;
  private UseDao uses;
  private EventDao events;
  private OutboxDao outbox;
  private PolicyDao policies;
  private InvalidationDao invalidations;
  private EvictionDao evictions;
  private BatchDao batch;
  private RegistrationDao registrations;

  CatalogTx(Handle handle) {
    this.handle = Objects.requireNonNull(handle, "handle");
  }

  /** The underlying Jdbi handle, for queries the DAOs do not offer. */
  public Handle handle() {
    return handle;
  }

  public JobDao jobs() {
    return jobs == null ? jobs = handle.attach(JobDao.class) : jobs;
  }

  public SetDao sets() {
    return sets == null ? sets = handle.attach(SetDao.class) : sets;
  }

  public HeadDao heads() {
    return heads == null ? heads = handle.attach(HeadDao.class) : heads;
  }

  public ChunkDao chunks() {
    return chunks == null ? chunks = handle.attach(ChunkDao.class) : chunks;
  }

  public UseDao uses() {
    return uses == null ? uses = handle.attach(UseDao.class) : uses;
  }

  public EventDao events() {
    return events == null ? events = handle.attach(EventDao.class) : events;
  }

  public OutboxDao outbox() {
    return outbox == null ? outbox = handle.attach(OutboxDao.class) : outbox;
  }

  public PolicyDao policies() {
    return policies == null ? policies = handle.attach(PolicyDao.class) : policies;
  }

  public InvalidationDao invalidations() {
    return invalidations == null ? invalidations = handle.attach(InvalidationDao.class) : invalidations;
  }

  /** Set-based statements for applying a batch of events (one round trip each). */
  public BatchDao batch() {
    return batch == null ? batch = new BatchDao(handle) : batch;
  }

  public RegistrationDao registrations() {
    return registrations == null ? registrations = handle.attach(RegistrationDao.class) : registrations;
  }

  public EvictionDao evictions() {
    return evictions == null ? evictions = handle.attach(EvictionDao.class) : evictions;
  }
}
