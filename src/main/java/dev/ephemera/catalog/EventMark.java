package dev.ephemera.catalog;

/** Outcome of recording a consumed event id, see {@link EventDao#markProcessed}. */
public enum EventMark {
  /** First time this id is seen: apply the event. */
  NEW,
  /** Same id and same content seen before (redelivery or replay): apply nothing. */
  DUPLICATE,
  /** Same id seen before with different content: a producer bug or tampering; apply nothing, report it. */
  CONFLICT
}
