package dev.ephemera.worker;

import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventData;
import dev.ephemera.policy.Decision;
import java.util.List;

/** Applies {@code ephemera.control} events (invalidate, gc) inside the applier's transaction. */
public interface ControlHandler {

  /** Writes an event to the outbox in the same transaction. */
  @FunctionalInterface
  interface Emitter {
    void emit(CatalogTx tx, EventData data);
  }

  List<Decision> apply(CatalogTx tx, CloudEvent event, Emitter emitter);
}
