package dev.ephemera.catalog;

import java.time.Duration;
import org.awaitility.Awaitility;

/** Observes Postgres lock waits, so concurrency tests know a transaction is really blocked, without sleeping. */
final class Locks {
  private Locks() {}

  /** Waits until some session of this database is waiting for a lock held by another transaction. */
  static void awaitSomeoneWaitingOnALock(Catalog catalog) {
    Awaitility.await("a transaction blocked on a row lock")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                catalog
                    .jdbi()
                    .withHandle(
                        h ->
                            h.createQuery(
                                    """
                                    select count(*) from pg_stat_activity
                                    where datname = current_database() and wait_event_type = 'Lock'
                                    """)
                                .mapTo(Long.class)
                                .one())
                > 0);
  }
}
