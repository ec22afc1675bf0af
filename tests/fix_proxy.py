"""A TCP proxy in front of PostgreSQL or the server that can cut its connections (when a client
sends a given message, such as the COMMIT of a transaction, or all at once), to see what the
system does when the network goes away at the worst moment. The proxy itself lives in
:mod:`orchestration.tcp_proxy`, shared with ``storeflow bench faults``.

    with TcpProxy(host, port) as proxy:
        url = proxy.url_for(db_url)  # the same database, through the proxy
        proxy.cut_at(COMMIT)          # the next COMMIT sent closes that connection
"""

from __future__ import annotations

from orchestration.tcp_proxy import COMMIT, TcpProxy, proxied

__all__ = ["COMMIT", "TcpProxy", "proxied"]
