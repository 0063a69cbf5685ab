package dev.ephemera.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.catalog.HeadRow;
import dev.ephemera.catalog.InvalidationRow;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.Gc;
import dev.ephemera.event.Invalidate;
import dev.ephemera.event.Invalidated;
import dev.ephemera.metrics.Meters;
import dev.ephemera.policy.Decision;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ephemera.invalidate} and {@code ephemera.gc}.
 *
 * <p>Invalidation marks every matching set of the owner invalid (pending ones too, so they can never become live),
 * then moves each affected head back to the newest set of its (name, scope) that is still valid, or removes it. The
 * invalidation is recorded under the event id, so replaying the control topic changes nothing, and the invalid sets
 * stay invalid when {@code buildomat.jobs} is replayed (a set that is not pending is never made live again).
 *
 * <p>GC requests are handed to the {@link Collector} after the transaction commits; the sweep itself runs outside any
 * event transaction (it deletes objects).
 */
public final class Control implements ControlHandler {
  private static final Logger LOGGER = LoggerFactory.getLogger(Control.class);
  private static final com.fasterxml.jackson.databind.ObjectMapper SELECTOR_JSON = EventCodec.newMapper();

  private final Clock clock;
  private final Meters meters;
  private final GcRequests gcRequests;

  /** Where accepted GC requests go (the collector runs them after the transaction commits). */
  @FunctionalInterface
  public interface GcRequests {
    void requested(Gc gc);
  }

  public Control(Clock clock, Meters meters, GcRequests gcRequests) {
    this.clock = clock;
    this.meters = meters;
    this.gcRequests = gcRequests;
  }

  @Override
  public List<Decision> apply(CatalogTx tx, CloudEvent event, Emitter emitter) {
    if (event.data() instanceof Invalidate invalidate) {
      invalidate(tx, event.id(), invalidate, emitter);
    } else if (event.data() instanceof Gc gc) {
      // Only once the request is committed (recorded as processed): a rolled-back apply asks for nothing, and the
      // collector sees the catalog as this transaction left it.
      tx.handle().afterCommit(() -> gcRequests.requested(gc));
    }
    return List.of();
  }

  private record Hit(String setId, String name, String scope) {}

  private void invalidate(CatalogTx tx, String eventId, Invalidate invalidate, Emitter emitter) {
    Invalidate.Selector s = invalidate.selector();
    String reason = invalidate.reason();
    List<Hit> hits =
        tx.handle()
            .createQuery(
                """
                select set_id, name, scope from sets
                where owner = :owner and status in ('pending', 'live', 'superseded')
                  and (cast(:name as text) is null or name = :name)
                  and (cast(:scope as text) is null or scope = :scope)
                  and (cast(:setId as text) is null or set_id = :setId)
                  and (cast(:job as text) is null or created_by_job = :job)
                  and (cast(:jobs as text[]) is null or created_by_job = any(:jobs))
                  and (cast(:after as timestamptz) is null or created_at >= :after)
                  and (cast(:before as timestamptz) is null or created_at < :before)
                order by completed_at nulls last, set_id
                """)
            .bind("owner", invalidate.owner())
            .bind("name", s.name())
            .bind("scope", s.scope())
            .bind("setId", s.setId())
            .bind("job", s.createdByJob())
            .bind("jobs", s.createdByJobs() == null ? null : s.createdByJobs().toArray(String[]::new))
            .bind("after", s.createdAfter())
            .bind("before", s.createdBefore())
            .map((rs, ctx) -> new Hit(rs.getString(1), rs.getString(2), rs.getString(3)))
            .list();
    int affected = 0;
    for (Hit hit : hits) {
      if (!tx.invalidations().invalidateSet(hit.setId(), reason)) {
        continue;
      }
      affected++;
      String headNow =
          tx.heads().find(invalidate.owner(), hit.name(), hit.scope()).map(HeadRow::setId).orElse(null);
      emitter.emit(
          tx,
          new Invalidated(invalidate.owner(), hit.name(), hit.setId(), hit.scope(), reason, eventId, headNow));
      meters.decision("invalidated", "admin");
    }
    tx.invalidations()
        .record(
            new InvalidationRow(
                eventId,
                invalidate.owner(),
                selectorJson(s),
                reason,
                invalidate.requestedBy(),
                clock.instant(),
                affected));
    LOGGER
        .atInfo()
        .addKeyValue("owner", invalidate.owner())
        .addKeyValue("sets", affected)
        .addKeyValue("reason", reason)
        .log("invalidated sets");
  }

  private static String selectorJson(Invalidate.Selector selector) {
    try {
      return SELECTOR_JSON.writeValueAsString(selector);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
