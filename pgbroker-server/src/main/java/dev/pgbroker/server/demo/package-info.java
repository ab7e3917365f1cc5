/**
 * {@code pgbroker demo}'s implementation: the stages, the consumers, and the counting that checks
 * them. Only {@link dev.pgbroker.server.demo.Demo#run} is called from outside; the command line
 * parses the options and opens the database, and everything else here stays package-private.
 */
package dev.pgbroker.server.demo;
