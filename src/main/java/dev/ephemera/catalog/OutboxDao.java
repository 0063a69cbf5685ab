package dev.ephemera.catalog;

import java.io.UncheckedIOException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The transactional outbox ({@code outbox}). Events are appended in the transaction that makes the change they
 * describe; a publisher drains them in {@code seq} order:
 *
 * <pre>
 *   catalog.useTransaction(tx -&gt; {
 *       var batch = tx.outbox().claimBatch(100, now); // marked, and locked: other publishers skip them
 *       send(batch);                                  // to Kafka, waiting for the acks; throwing rolls the mark back
 *   });
 * </pre>
 *
 * Delivery is at least once (a crash after sending and before commit sends again); consumers dedupe by event id.
 * One owner's events are appended by one consumer in commit order, so their seqs are in order too.
 */
@RegisterRowMapper(OutboxDao.OutboxRowMapper.class)
public interface OutboxDao {

  /**
   * Appends an event to publish.
   *
   * @param key     the Kafka record key, may be null
   * @param headers Kafka headers, may be empty
   * @return the row's sequence number
   */
  default long append(String eventId, String topic, String key, byte[] payload, Map<String, String> headers) {
    return insert(eventId, topic, key, payload, OutboxRowMapper.toJson(headers == null ? Map.of() : headers));
  }

  @SqlUpdate("""
      insert into outbox (event_id, topic, key, payload, headers)
      values (:eventId, :topic, :key, :payload, cast(:headers as jsonb))
      """)
  @GetGeneratedKeys("seq")
  long insert(@Bind("eventId") String eventId, @Bind("topic") String topic, @Bind("key") String key,
        @Bind("payload") byte[] payload, @Bind("headers") String headersJson);

  /**
   * The oldest unpublished rows, in {@code seq} order, locked until the caller's transaction ends. Rows locked by
   * another publisher are skipped, so two publishers never send the same row concurrently.
   */
  @SqlQuery("""
      select seq, event_id, topic, key, payload, headers::text as headers, created_at, published_at
      from outbox where published_at is null
      order by seq
      limit :limit
      for update skip locked
      """)
  List<OutboxRow> nextBatch(@Bind("limit") int limit);

  /**
   * {@link #nextBatch} and {@link #markPublished} in one statement: the oldest unpublished rows, marked published at
   * {@code at} and locked until the caller's transaction ends (rows another publisher holds are skipped). The mark only
   * counts if the transaction commits, so the caller sends the rows, waits for the acknowledgements, and throws to roll
   * the mark back. Returned in {@code seq} order.
   */
  default List<OutboxRow> claimBatch(int limit, Instant at) {
    List<OutboxRow> rows = new java.util.ArrayList<>(claim(limit, at));
    rows.sort(java.util.Comparator.comparingLong(OutboxRow::seq));
    return rows;
  }

  @SqlQuery("""
      update outbox o set published_at = :at
      from (select seq from outbox where published_at is null order by seq limit :limit for update skip locked) n
      where o.seq = n.seq
      returning o.seq, o.event_id, o.topic, o.key, o.payload, o.headers::text as headers, o.created_at,
                o.published_at
      """)
  List<OutboxRow> claim(@Bind("limit") int limit, @Bind("at") Instant at);

  /** Marks rows published; rows already published keep their first time. */
  default int markPublished(List<Long> seqs, Instant at) {
    if (seqs.isEmpty()) {
      return 0;
    }
    return markPublished(seqs.stream().mapToLong(Long::longValue).toArray(), at);
  }

  @SqlUpdate("update outbox set published_at = :at where seq = any(:seqs) and published_at is null")
  int markPublished(@Bind("seqs") long[] seqs, @Bind("at") Instant at);

  /** How much is waiting to be published. */
  @SqlQuery("select count(*) as count, min(created_at) as oldest from outbox where published_at is null")
  @RegisterRowMapper(BacklogMapper.class)
  OutboxBacklog backlog();

  /** Deletes rows published before {@code before} (housekeeping). */
  @SqlUpdate("delete from outbox where published_at < :before")
  int deletePublishedBefore(@Bind("before") Instant before);

  /** Reads one {@code outbox} row; headers are a jsonb object of strings. */
  final class OutboxRowMapper implements RowMapper<OutboxRow> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> HEADERS = new TypeReference<>() { };

    @Override
    public OutboxRow map(ResultSet rs, StatementContext ctx) throws SQLException {
      String headers = rs.getString("headers");
      return new OutboxRow(rs.getLong("seq"), rs.getString("event_id"), rs.getString("topic"),
          rs.getString("key"), rs.getBytes("payload"), headers == null ? Map.of() : fromJson(headers),
          instant(rs.getTimestamp("created_at")), instant(rs.getTimestamp("published_at")));
    }

    static String toJson(Map<String, String> headers) {
      try {
        return JSON.writeValueAsString(headers);
      } catch (JsonProcessingException e) {
        throw new UncheckedIOException(e);
      }
    }

    static Map<String, String> fromJson(String json) {
      try {
        return JSON.readValue(json, HEADERS);
      } catch (JsonProcessingException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Reads the backlog aggregate. */
  final class BacklogMapper implements RowMapper<OutboxBacklog> {
    @Override
    public OutboxBacklog map(ResultSet rs, StatementContext ctx) throws SQLException {
      return new OutboxBacklog(rs.getLong("count"),
          java.util.Optional.ofNullable(instant(rs.getTimestamp("oldest"))));
    }
  }

  private static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
  }
}
