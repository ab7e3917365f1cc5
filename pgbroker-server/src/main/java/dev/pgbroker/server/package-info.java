/**
 * The {@code pgbroker} command line: {@link dev.pgbroker.server.Main}, one {@code *Command} class
 * per subcommand, and what every command shares (opening a database, one-line failures). A
 * command's own implementation, when it is more than parsing options and calling the broker, lives
 * in a package of its own, as {@link dev.pgbroker.server.demo} does.
 */
package dev.pgbroker.server;
