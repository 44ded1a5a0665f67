"""``amurkg serve``: a read-only SPARQL 1.1 Protocol endpoint over the graph, safe to expose to clients
you do not trust.

Three kinds of process: this server (asyncio and h11: HTTP, admission, deadlines, streaming; see
``amurkg.serve.http``), a zygote that holds the graph, and query workers forked from it that share its
memory (``amurkg.serve.worker``). Queries are checked once, here, as the engine reads them, and run
unchanged in a worker; a query over its time limit is stopped by ending its worker.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, NamedTuple

from amurkg.errors import AmurkgError, EngineFaultError
from amurkg.serve.pool import QueryTimeoutError, SaturatedError, UnavailableError, WorkerPool
from amurkg.serve.protocol import negotiate, service_description

__all__ = [
    "EngineFaultError",
    "QueryTimeoutError",
    "SaturatedError",
    "ServeOptions",
    "UnavailableError",
    "WorkerPool",
    "describe_limits",
    "negotiate",
    "open_socket",
    "serve",
    "service_description",
]


class ServeOptions(NamedTuple):
    """How the endpoint behaves; the defaults are the safe ones."""

    data: tuple[Path, ...] = ()
    workers: int = 16
    timeout: float = 5.0
    max_rows: int = 10_000
    max_body: int = 1_000_000
    max_answer: int = 16 * 1024 * 1024
    cors: str | None = None
    reason: bool = False
    queue: int = 64
    max_connections: int = 512
    client_timeout: float = 10.0
    cache_mb: int = 32
    store: Path | None = None
    #: Host header names answered besides the bound address, localhost, 127.0.0.1 and [::1] (``--allow-host``)
    allow_hosts: tuple[str, ...] = ()


def open_socket(host: str, port: int) -> socket.socket:
    """Listen on ``host:port`` now, so that a port in use or a bad host is one clear error before anything
    is loaded; port 0 picks a free port (the announced URL is the one actually bound). Refused, before that,
    where the system cannot fork the query workers (Windows)."""
    import os

    if not hasattr(os, "fork"):
        raise AmurkgError(
            "amurkg serve forks its query workers, which this system cannot do (Windows): run it under WSL or on "
            "Linux or macOS, or serve `amurkg export` output from another SPARQL server (see README: Beyond one "
            "machine)"
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AmurkgError(
            f"--host {host[:80]!r} is not an address this machine can listen on ({exc.strerror})"
        ) from None
    except (OverflowError, UnicodeError):
        raise AmurkgError(f"--host {host[:80]!r} or --port {port} is not valid") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = "the port is in use; choose another with --port" if exc.errno == 98 else (exc.strerror or str(exc))
        raise AmurkgError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.setblocking(False)
    return sock


def bound_address(sock: socket.socket) -> str:
    """``host:port`` of a listening socket, IPv6 hosts in brackets."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(options: ServeOptions, sock: socket.socket, announce: object = None, site: Any = None) -> int:
    """Load the graph into the zygote, fork the workers, then answer until SIGINT or SIGTERM; return the
    number of the signal that stopped it, once every connection, worker and the zygote are closed. With
    ``site`` (``amurkg.web.Site``), also its web pages, whose data the same workers compute."""
    with sock:
        return _serve(options, sock, announce, site)


class _Stopped(BaseException):
    """A stop signal that came while the graph was loading (before the event loop took the signals)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_while_loading(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def _serve(options: ServeOptions, sock: socket.socket, announce: object, site: Any = None) -> int:
    import asyncio
    import signal

    from amurkg.serve.http import Server

    pool = WorkerPool(
        tuple(str(p) for p in options.data),
        options.reason,
        options.workers,
        options.timeout,
        options.queue,
        options.max_rows,
        options.max_answer,
        str(options.store) if options.store is not None else None,
        pages=site.pages if site is not None else None,
    )
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _stop_while_loading) for sig in stops}

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stopped: asyncio.Future[int] = loop.create_future()
        filling = asyncio.ensure_future(pool.fill())

        def stop(signum: int) -> None:
            if not stopped.done():
                stopped.set_result(signum)
                filling.cancel()  # when it is still forking the first workers

        for sig in stops:  # from here on a signal ends the wait below, never an exception mid-request
            loop.add_signal_handler(sig, stop, sig)
        server = Server(options, pool, bound_address(sock))
        if site is not None:
            server.site, site.pool = site, pool
        listener: asyncio.AbstractServer | None = None
        try:
            try:
                await filling
            except asyncio.CancelledError:
                if not stopped.done():
                    raise
            if not stopped.done():
                listener = await loop.create_server(server.protocol, sock=sock)
                if callable(announce):
                    announce()
            return await stopped
        finally:
            # stop accepting, drop every connection (idle keep-alive ones included: from Python 3.12 on,
            # a listener waits for them), end the requests in flight, then every worker and the zygote
            pool.closing = True
            if listener is not None:
                listener.close()
            await server.close()
            await pool.aclose()

    try:
        pool.start_zygote()
        return asyncio.run(main())
    except _Stopped as stop:
        return stop.signum
    finally:
        for sig in stops:  # the last clean-up is short and bounded: a second signal does not cut it
            signal.signal(sig, signal.SIG_IGN)
        pool.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def describe_limits(options: ServeOptions) -> str:
    """A one-line summary of the endpoint's limits, for the start-up message."""
    return json.dumps(
        {
            "timeout_s": options.timeout,
            "max_rows": options.max_rows,
            "max_body": options.max_body,
            "max_answer": options.max_answer,
            "workers": options.workers,
            "queue": options.queue,
            "max_connections": options.max_connections,
            "client_timeout_s": options.client_timeout,
            "cors": options.cors,
            "reason": options.reason,
        }
    )
