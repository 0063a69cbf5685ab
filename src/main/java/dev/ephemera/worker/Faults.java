package dev.ephemera.worker;

/**
 * Named points in the worker where a crash is most dangerous, for fault-injection tests: a test build stops the process
 * dead at one of them ({@code Runtime.halt}, no shutdown hooks) and checks that recovery loses and duplicates nothing.
 * Production runs with {@link #NONE}.
 */
@FunctionalInterface
public interface Faults {
  /** After an event's transaction committed, before its Kafka offset is committed. */
  String AFTER_APPLY = "after-apply";

  /** After Kafka acknowledged a batch of outbox rows, before they are marked published. */
  String AFTER_SEND = "after-send";

  /** After a registration was accepted (its row committed, the persist answered), before it is verified. */
  String BEFORE_VERIFY = "before-verify";

  Faults NONE = point -> {};

  void at(String point);
}
