package dev.pgbroker.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy in front of PostgreSQL that can make the connections which ran LISTEN go silent: it
 * stops forwarding their bytes either way while keeping both sockets open, so neither end sees an
 * error, as with a firewall that drops an idle flow or a half-open TCP connection. Connections
 * opened afterwards are forwarded normally.
 */
final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final List<Link> links = new CopyOnWriteArrayList<>();

  TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "tcp-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Silences every open connection that has sent a LISTEN; returns how many. */
  int silenceListeners() {
    int n = 0;
    for (Link link : links) {
      if (link.listens && !link.closed) {
        link.silent = true;
        n++;
      }
    }
    return n;
  }

  /** Open, forwarded connections that have sent a LISTEN. */
  long liveListeners() {
    return links.stream().filter(l -> l.listens && !l.silent && !l.closed).count();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        Link link = new Link(client, upstream);
        links.add(link);
        link.pump(client, upstream, true);
        link.pump(upstream, client, false);
      } catch (IOException e) {
        if (!server.isClosed()) {
          System.err.println("tcp proxy: " + e);
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Link link : links) {
      link.close();
    }
  }

  /** One client connection and its upstream twin. */
  private static final class Link {
    private final Socket client;
    private final Socket upstream;
    volatile boolean listens;
    volatile boolean silent;
    volatile boolean closed;

    Link(Socket client, Socket upstream) {
      this.client = client;
      this.upstream = upstream;
    }

    void pump(Socket from, Socket to, boolean fromClient) {
      Thread t =
          new Thread(
              () -> {
                byte[] buf = new byte[16384];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  int n;
                  while ((n = in.read(buf)) >= 0) {
                    if (fromClient
                        && new String(buf, 0, n, StandardCharsets.ISO_8859_1)
                            .toLowerCase()
                            .contains("listen \"")) {
                      listens = true;
                    }
                    while (silent && !closed) {
                      Thread.sleep(50); // hold the bytes: nothing goes through, nothing fails
                    }
                    out.write(buf, 0, n);
                    out.flush();
                  }
                } catch (IOException | InterruptedException e) {
                  // one side closed; close the other
                } finally {
                  close();
                }
              },
              "tcp-proxy-pump");
      t.setDaemon(true);
      t.start();
    }

    void close() {
      closed = true;
      try {
        client.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      try {
        upstream.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }
}
