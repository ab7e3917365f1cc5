package dev.pgbroker.server.demo;

/**
 * The demo's message: one payment order. A poison payment is one the consumers' (simulated) bug
 * rejects until the fix is switched on.
 */
record Payment(int number, long cents, boolean poison) {}
