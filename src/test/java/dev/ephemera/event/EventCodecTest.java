package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class EventCodecTest {

  private static final EventCodec CODEC = new EventCodec();
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<Examples.Example> validEventExamples() {
    return Examples.valid().filter(e -> !e.isDeadLetter());
  }

  static Stream<Examples.Example> invalidEventExamples() {
    return Examples.invalid().filter(e -> !e.isDeadLetter());
  }

  static Stream<Examples.Example> validDeadLetterExamples() {
    return Examples.valid().filter(Examples.Example::isDeadLetter);
  }

  static Stream<Examples.Example> invalidDeadLetterExamples() {
    return Examples.invalid().filter(Examples.Example::isDeadLetter);
  }

  private static JsonNode tree(byte[] bytes) throws Exception {
    return JSON.readTree(bytes);
  }

  private static ObjectNode example(String type, String name) throws Exception {
    return (ObjectNode) JSON.readTree(Examples.ROOT.resolve(type).resolve("valid").resolve(name + ".json").toFile());
  }

  private static byte[] bytes(JsonNode tree) throws Exception {
    return JSON.writeValueAsBytes(tree);
  }

  private static String rejection(byte[] bytes) {
    try {
      CODEC.decode(bytes);
    } catch (InvalidEventException e) {
      return e.getMessage();
    }
    throw new AssertionError("decoded without error: " + new String(bytes, StandardCharsets.UTF_8));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validEventExamples")
  void roundTripsEveryValidExampleThroughRecordsWithoutLoss(Examples.Example example) throws Exception {
    CloudEvent event = CODEC.decode(example.bytes());

    assertThat(event.type()).isEqualTo(example.eventType());
    assertThat(event.data()).isInstanceOf(example.eventType().dataClass());
    byte[] encoded = CODEC.encode(event);
    assertThat(tree(encoded)).as(example.name()).isEqualTo(example.tree());
    assertThat(CODEC.decode(encoded)).isEqualTo(event);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidEventExamples")
  void rejectsEveryInvalidExampleForItsStatedReason(Examples.Example example) {
    assertThat(rejection(example.bytes())).contains(example.expectedError());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validDeadLetterExamples")
  void roundTripsEveryValidDeadLetterExample(Examples.Example example) throws Exception {
    DeadLetter letter = CODEC.decodeDeadLetter(example.bytes());

    assertThat(tree(CODEC.encode(letter))).isEqualTo(example.tree());
    assertThat(letter.value()).hasSize((int) letter.valueSize());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidDeadLetterExamples")
  void rejectsEveryInvalidDeadLetterExampleForItsStatedReason(Examples.Example example) {
    assertThatThrownBy(() -> CODEC.decodeDeadLetter(example.bytes()))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining(example.expectedError());
  }

  @Test
  void rejectsAnUnknownTypeNamingIt() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    doc.put("type", "job.startd");

    assertThat(rejection(bytes(doc))).startsWith("unknown event type \"job.startd\"");
    InvalidEventException e = catchInvalid(bytes(doc));
    assertThat(e.eventType()).isEqualTo("job.startd");
    assertThat(e.eventId()).isEqualTo(doc.get("id").asText());
  }

  @Test
  void rejectsAMissingTypeAndANonStringType() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    doc.remove("type");
    assertThat(rejection(bytes(doc))).isEqualTo("type: required property missing");
    doc.put("type", 7);
    assertThat(rejection(bytes(doc))).startsWith("type: must be a string");
  }

  @Test
  void rejectsAMissingRequiredDataFieldNamingIt() throws Exception {
    ObjectNode doc = example("job.completed", "push-success");
    ((ObjectNode) doc.get("data")).remove("owner");

    assertThat(rejection(bytes(doc))).isEqualTo("data.owner: required property missing");
  }

  @Test
  void rejectsAMissingRequiredNestedFieldNamingItsPath() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    ((ObjectNode) doc.get("data").get("repo")).remove("id");

    assertThat(rejection(bytes(doc))).isEqualTo("data.repo.id: required property missing");
  }

  @Test
  void rejectsAWrongTypeNamingTheField() throws Exception {
    ObjectNode doc = example("ephemera.captured", "head-moved");
    ((ObjectNode) doc.get("data")).put("tar_size", "136314880");
    assertThat(rejection(bytes(doc))).isEqualTo("data.tar_size: string found, integer expected");

    ObjectNode fork = example("job.started", "fork-pull-request-without-head-branch");
    ((ObjectNode) fork.get("data")).put("fork", "yes");
    assertThat(rejection(bytes(fork))).contains("data.fork: string found, boolean expected");
  }

  @Test
  void reportsEveryViolationNotJustTheFirst() throws Exception {
    ObjectNode doc = example("ephemera.staged", "own-pull-request-scope");
    ObjectNode data = (ObjectNode) doc.get("data");
    data.remove("owner");
    data.put("fallback_level", -1);

    assertThat(rejection(bytes(doc)))
        .contains("data.owner: required property missing")
        .contains("data.fallback_level: must have a minimum value of 0");
  }

  @Test
  void ignoresUnknownFieldsAtEveryLevel() throws Exception {
    ObjectNode original = example("job.started", "push-to-branch");
    ObjectNode extended = original.deepCopy();
    extended.put("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    ObjectNode data = (ObjectNode) extended.get("data");
    data.put("gong_run_id", 42);
    ((ObjectNode) data.get("repo")).put("private", true);
    ((ObjectNode) data.get("declared").get(0)).putObject("compression").put("level", 3);

    assertThat(CODEC.decode(bytes(extended))).isEqualTo(CODEC.decode(bytes(original)));
  }

  @Test
  void rejectsPayloadsLargerThanOneMebibyteWithAClearReason() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    doc.put("padding", "x".repeat(EventCodec.MAX_EVENT_BYTES));

    assertThat(rejection(bytes(doc))).matches("the event is \\d+ bytes, more than the 1048576-byte limit");
  }

  @Test
  void rejectsBytesThatAreNotJsonOrNotAnObject() {
    assertThat(rejection("{\"specversion\":".getBytes(StandardCharsets.UTF_8))).startsWith("not JSON: ");
    assertThat(rejection(new byte[0])).startsWith("not JSON: ");
    assertThat(rejection("  ".getBytes(StandardCharsets.UTF_8))).startsWith("not JSON: ");
    assertThat(rejection(new byte[] {(byte) 0xff, (byte) 0xfe, 1})).startsWith("not JSON: ");
    assertThat(rejection("[1,2]".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("not a JSON object: the event is array");
    assertThat(rejection("{} {}".getBytes(StandardCharsets.UTF_8))).startsWith("not JSON: ");
  }

  @Test
  void rejectsDuplicateKeysRatherThanPickingOne() throws Exception {
    String json = new String(bytes(example("ephemera.gc", "every-owner")), StandardCharsets.UTF_8)
        .replace("\"subject\":\"*\"", "\"subject\":\"*\",\"subject\":\"gong-1\"");

    assertThat(rejection(json.getBytes(StandardCharsets.UTF_8))).startsWith("not JSON: Duplicate field 'subject'");
  }

  @Test
  void rejectsWhatOnlyTheRecordsCanCheckNamingTheField() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    ArrayNodeHelper.duplicateFirst(doc.get("data").get("declared"));
    assertThat(rejection(bytes(doc))).isEqualTo("data.declared: set \"cargo-registry\" is declared twice");

    ObjectNode range = example("ephemera.invalidate", "by-name-scope-and-time-range");
    ((ObjectNode) range.get("data").get("selector")).put("created_before", "2026-11-19T00:00:00Z");
    assertThat(rejection(bytes(range))).startsWith("data.selector.created_before: must be after created_after");
  }

  @Test
  void acceptsNullForAbsentOptionalFieldsAndOmitsThemOnEncode() throws Exception {
    ObjectNode doc = example("job.started", "fork-pull-request-without-head-branch");
    ((ObjectNode) doc.get("data")).putNull("head_branch");

    CloudEvent event = CODEC.decode(bytes(doc));

    JobStarted started = (JobStarted) event.data();
    assertThat(started.headBranch()).isNull();
    assertThat(started.job().optionalHeadBranch()).isEmpty();
    assertThat(tree(CODEC.encode(event)).get("data").has("head_branch")).isFalse();
  }

  @Test
  void aDeclaredSetWithoutWhenIsKeptOnlyOnSuccess() throws Exception {
    ObjectNode doc = example("job.started", "push-to-branch");
    ((ObjectNode) doc.get("data").get("declared").get(1)).remove("when");

    JobStarted started = (JobStarted) CODEC.decode(bytes(doc)).data();

    assertThat(started.declared().get(1).when()).isEqualTo(DeclaredSet.When.SUCCESS);
  }

  @Test
  void acceptsTimestampsWithAnOffsetAndNormalisesThemToUtc() throws Exception {
    ObjectNode doc = example("job.completed", "push-success");
    doc.put("time", "2026-11-25T12:41:13.050+02:00");
    ((ObjectNode) doc.get("data")).put("completed_at", "2026-11-25T11:41:12.881+01:00");

    CloudEvent event = CODEC.decode(bytes(doc));

    assertThat(event.time()).isEqualTo(Instant.parse("2026-11-25T10:41:13.050Z"));
    assertThat(((JobCompleted) event.data()).completedAt()).isEqualTo(Instant.parse("2026-11-25T10:41:12.881Z"));
  }

  @Test
  void ofFillsIdTimeDataschemaAndTheNaturalSubject() throws Exception {
    Gc gc = new Gc("gong-445765491", 60L, "ops");

    CloudEvent event = CloudEvent.of("/ephemera/admin", gc);

    assertThat(Ulid.isValid(event.id())).isTrue();
    assertThat(event.time()).isEqualTo(Ulid.timestamp(event.id()));
    assertThat(event.dataschema()).isEqualTo("https://ephemera.dev/schemas/ephemera.gc.v1.json");
    assertThat(event.subject()).isEqualTo("gong-445765491");
    assertThat(event.specversion()).isEqualTo("1.0");
    assertThat(event.topic()).isEqualTo(Topics.CONTROL);
    assertThat(event.key()).isEqualTo("gong-445765491");
    assertThat(CODEC.decode(CODEC.encode(event))).isEqualTo(event);
  }

  @Test
  void jobStartedAndJobCompletedShareOneJobView() throws Exception {
    JobStarted started = (JobStarted) CODEC.decode(bytes(example("job.started", "push-to-branch"))).data();
    JobCompleted completed = (JobCompleted) CODEC.decode(bytes(example("job.completed", "push-success"))).data();

    assertThat(completed.job()).isEqualTo(started.job());
    assertThat(JobStarted.of(started.job())).isEqualTo(started);
    assertThat(JobCompleted.of(started.job(), JobCompleted.Result.SUCCESS, completed.completedAt()))
        .isEqualTo(completed);
    assertThat(started.subject()).isEqualTo(started.jobId());
    assertThat(started.key()).isEqualTo("gong-445765491");
  }

  @Test
  void everyTypeKnowsItsTopicSchemaAndRecord() {
    Map<EventType, String> topics = Map.of(
        EventType.JOB_STARTED, "buildomat.jobs", EventType.JOB_COMPLETED, "buildomat.jobs",
        EventType.INVALIDATE, "ephemera.control", EventType.GC, "ephemera.control",
        EventType.USED, "ephemera.used", EventType.STAGED, "ephemera.lifecycle",
        EventType.CAPTURED, "ephemera.lifecycle", EventType.DISCARDED, "ephemera.lifecycle",
        EventType.INVALIDATED, "ephemera.lifecycle", EventType.EVICTED, "ephemera.lifecycle");
    for (EventType type : EventType.values()) {
      assertThat(type.topic()).as(type.type()).isEqualTo(topics.get(type));
      assertThat(EventType.fromType(type.type())).contains(type);
      assertThat(type.schemaResource()).isEqualTo("schemas/" + type.type() + ".schema.json");
      assertThat(getClass().getClassLoader().getResource(type.schemaResource())).as(type.schemaResource()).isNotNull();
      assertThat(type.dataClass().getPermittedSubclasses()).as("data records are final").isNull();
    }
    assertThat(EventType.fromType("job.startd")).isEmpty();
    assertThat(EventType.fromType(null)).isEmpty();
  }

  @Test
  void recordsRefuseInconsistentJobsNamingTheField() {
    Repo repo = new Repo("oxidecomputer", "omicron", 445765491);
    String sha = "a".repeat(40);
    assertThatThrownBy(() -> new JobInfo(Ulid.next(), "gong-445765491", repo, sha, "main",
        JobInfo.Trigger.PULL_REQUEST, 12, true, "main", "default", "build", List.of()))
        .hasMessage("head_branch: must be absent for a fork pull request");
    assertThatThrownBy(() -> new JobInfo(Ulid.next(), "gong-445765491", repo, sha, "main",
        JobInfo.Trigger.PUSH, 12, false, "main", "default", "build", List.of()))
        .hasMessage("pull_request: must be absent for a push");
    assertThatThrownBy(() -> new JobInfo("not-a-ulid", "gong-445765491", repo, sha, "main",
        JobInfo.Trigger.PUSH, null, false, "main", "default", "build", List.of()))
        .hasMessageStartingWith("job_id: not a ULID");
  }

  @Test
  void encodeRefusesAnEventLargerThanConsumersAccept() {
    String sha = "b".repeat(64);
    Used.UsedSet set = new Used.UsedSet("target", Ulid.next(), "branch:main", 0, sha, 1, sha, 1, 1,
        "/work", Instant.parse("2026-11-25T10:00:00Z"), Ulid.next(),
        "https://ephemera.example.com/v1/sets/x/archive.tar.zst?sig=" + "s".repeat(5000), null);
    Used used = new Used(Ulid.next(), "gong-1", java.util.Collections.nCopies(300, set));

    assertThatThrownBy(() -> CODEC.encode(CloudEvent.of("/ephemera/worker", used)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than the 1048576-byte limit");
  }

  @Test
  void aDeadLetterKeepsAtMostHalfAMebibyteOfTheOriginalAndSaysSo() throws Exception {
    byte[] huge = new byte[EventCodec.MAX_EVENT_BYTES + 10];
    Arrays.fill(huge, (byte) 'x');

    DeadLetter letter = DeadLetter.of(Topics.BUILDOMAT_JOBS, 2, 99, "gong-1".getBytes(StandardCharsets.UTF_8),
        huge, "the event is 1048586 bytes, more than the 1048576-byte limit",
        Instant.parse("2026-11-25T10:00:00Z"), null, null);
    byte[] encoded = CODEC.encode(letter);

    assertThat(encoded.length).isLessThan(EventCodec.MAX_EVENT_BYTES);
    DeadLetter decoded = CODEC.decodeDeadLetter(encoded);
    assertThat(decoded).isEqualTo(letter);
    assertThat(decoded.truncated()).isTrue();
    assertThat(decoded.value()).hasSize(DeadLetter.MAX_VALUE_BYTES);
    assertThat(decoded.valueSize()).isEqualTo(huge.length);
    assertThat(decoded.key()).isEqualTo("gong-1");
  }

  private static InvalidEventException catchInvalid(byte[] bytes) {
    try {
      CODEC.decode(bytes);
    } catch (InvalidEventException e) {
      return e;
    }
    throw new AssertionError("decoded without error");
  }

  /** Small helper so the test reads as what it does. */
  private static final class ArrayNodeHelper {
    static void duplicateFirst(JsonNode array) {
      var a = (com.fasterxml.jackson.databind.node.ArrayNode) array;
      a.add(a.get(0).deepCopy());
    }
  }
}
