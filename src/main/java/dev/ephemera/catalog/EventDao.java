package dev.ephemera.catalog;

import java.util.Objects;
import java.util.Optional;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.transaction.Transaction;

/**
 * Consumed event ids ({@code processed_events}): the consumer records the id in the same transaction that applies
 * the event, so an event is applied at most once however often Kafka delivers it.
 */
public interface EventDao {

  /**
   * Records that event {@code eventId} is being applied. Atomic ({@code insert .. on conflict do nothing}): of two
   * transactions recording the same id, the second waits for the first and then sees {@link EventMark#DUPLICATE}
   * (or {@link EventMark#NEW} if the first rolled back).
   *
   * @param digest sha256 (hex) of the event's bytes; the same id with another digest is a {@link EventMark#CONFLICT}
   * @return {@link EventMark#NEW} if the caller should apply the event, otherwise why not
   */
  @Transaction
  default EventMark markProcessed(String eventId, String type, String digest, String topic, int partition,
                  long offset) {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(digest, "digest");
    if (insertIfAbsent(eventId, type, digest, topic, partition, offset).isPresent()) {
      return EventMark.NEW;
    }
    String known = digestOf(eventId)
        .orElseThrow(() -> new IllegalStateException("event " + eventId + " vanished while being recorded"));
    return known.equals(digest) ? EventMark.DUPLICATE : EventMark.CONFLICT;
  }

  /** Whether the event id has been recorded. */
  @SqlQuery("select exists (select 1 from processed_events where event_id = :eventId)")
  boolean isProcessed(@Bind("eventId") String eventId);

  @SqlQuery("""
      insert into processed_events (event_id, type, digest, source_topic, source_partition, source_offset)
      values (:eventId, :type, :digest, :topic, :partition, :offset)
      on conflict (event_id) do nothing
      returning event_id
      """)
  Optional<String> insertIfAbsent(@Bind("eventId") String eventId, @Bind("type") String type,
                  @Bind("digest") String digest, @Bind("topic") String topic,
                  @Bind("partition") int partition, @Bind("offset") long offset);

  @SqlQuery("select digest from processed_events where event_id = :eventId")
  Optional<String> digestOf(@Bind("eventId") String eventId);
}
