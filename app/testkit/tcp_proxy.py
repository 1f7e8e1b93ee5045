"""A TCP relay in front of PostgreSQL whose plug the tests can pull.

`cut()` closes the listening socket and every relayed connection, as a database that
went away would (clients get a reset, new connections are refused); `restore()` listens
again on the same port. The shared server behind it is never touched.
"""

import selectors
import socket
import threading


class TcpProxy:
    """Relays 127.0.0.1:<port> to (host, port) of the real server, in one thread."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._selector = selectors.DefaultSelector()
        self._listener = None
        self._peers = {}  # socket -> the socket at the other end
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._listen()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.cut()
        self._selector.close()

    def cut(self):
        """The outage: no more listening, every open connection closed."""
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for sock in list(self._peers):
                self._drop(sock)

    def restore(self):
        """The database is back, at the same address."""
        with self._lock:
            if self._listener is None:
                self._listen()

    def _listen(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)

    def _loop(self):
        while not self._stop.is_set():
            with self._lock:
                ready = self._selector.select(timeout=0.05) if self._selector.get_map() else []
                for key, _events in ready:
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj in self._peers:
                        self._relay(key.fileobj)
            if not ready:
                self._stop.wait(0.01)

    def _accept(self):
        client, _address = self._listener.accept()
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(5)  # reads only when ready; a write may wait for a full buffer
            self._selector.register(sock, selectors.EVENT_READ)
        self._peers[client], self._peers[server] = server, client

    def _relay(self, sock):
        try:
            data = sock.recv(65536)
            if data:
                self._peers[sock].sendall(data)
                return
        except OSError:
            pass
        self._drop(sock)  # one end closed: close the pair

    def _drop(self, sock):
        other = self._peers.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self._peers.pop(each, None)
            try:
                self._selector.unregister(each)
            except (KeyError, ValueError):
                pass
            each.close()
