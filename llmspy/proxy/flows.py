# mitmproxy flows -> the core's HTTP message events, so flows go through the same Exchange as
# captured bytes and produce the same records. Used by the proxy addon (messages as they
# happen) and by `llmspy replay` for mitmproxy flow files (whole flows).
from __future__ import annotations

from ..core.events import REQUEST, RESPONSE, Data, End, Headers, HTTPEvent, RequestHead, ResponseHead
from ..record import Connection

__all__ = ["request_events", "response_head", "response_end", "flow_events", "flow_connection"]


def _headers(h) -> Headers:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in h.fields)


def _version(http_version: str) -> str:
    return "2" if http_version.startswith("HTTP/2") else http_version.removeprefix("HTTP/") or "1.1"


def flow_connection(flow) -> Connection:
    """The record's connection for a flow: server from SNI, else the request host."""
    req = flow.request
    sni = getattr(flow.server_conn, "sni", None) if flow.server_conn else None
    return Connection(
        id=str(getattr(flow.client_conn, "id", None) or flow.id),
        server=(sni or req.pretty_host or req.host or None),
        port=req.port,
        http_version=_version(req.http_version),
        role="client",
    )


def request_events(flow, body: bool = True) -> list[HTTPEvent]:
    """RequestHead (+ Data + End when ``body``) for ``flow.request``; content still encoded."""
    req = flow.request
    ts = req.timestamp_start or 0.0
    authority = req.host_header or (f"{req.host}:{req.port}" if req.port not in (443, 80) else req.host)
    events: list[HTTPEvent] = [
        RequestHead(
            ts=ts,
            stream_id=0,
            method=req.method,
            target=req.path,
            authority=authority,
            headers=_headers(req.headers),
            http_version=_version(req.http_version),
            scheme=req.scheme,
        )
    ]
    if body:
        raw = req.raw_content or b""
        end_ts = req.timestamp_end or ts
        if raw:
            events.append(Data(end_ts, 0, REQUEST, raw))
        events.append(End(end_ts, 0, REQUEST, _headers(req.trailers) if req.trailers else ()))
    return events


def response_head(flow) -> ResponseHead:
    resp = flow.response
    return ResponseHead(
        ts=resp.timestamp_start or 0.0,
        stream_id=0,
        status=resp.status_code,
        headers=_headers(resp.headers),
        http_version=_version(resp.http_version),
    )


def response_end(flow, ts: float | None = None) -> End:
    resp = flow.response
    trailers = _headers(resp.trailers) if resp.trailers else ()
    return End(ts if ts is not None else (resp.timestamp_end or resp.timestamp_start or 0.0), 0, RESPONSE, trailers)


def flow_events(flow) -> list[HTTPEvent]:
    """All events of a finished flow (replay of a flow file). A flow without a response
    yields only the request's events: the exchange is then flushed incomplete; a response
    whose body mitmproxy did not keep (it was streamed) ends incomplete too."""
    events = request_events(flow)
    if flow.response is not None:
        events.append(response_head(flow))
        raw = flow.response.raw_content
        if raw:
            events.append(Data(flow.response.timestamp_end or flow.response.timestamp_start or 0.0, 0, RESPONSE, raw))
        end = response_end(flow)
        if raw is None:  # streamed through: mitmproxy did not keep the body
            end = End(end.ts, end.stream_id, end.side, end.trailers, complete=False)
        events.append(end)
    return events
