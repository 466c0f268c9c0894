# One real client call, run as its own process by clients.py (never imported by llmspy):
#
#     python sdk_client.py KIND --base-url URL [--stream] [--tools] [--http2] ...
#
# KIND is an official SDK (openai-chat, openai-responses, anthropic, gemini, cohere) or
# "httpx" (a raw POST with httpx). The API key comes from $LLMSPY_FAKE_API_KEY, the CA from
# $SSL_CERT_FILE (honoured by httpx, httpx2 and google-genai). The last stdout line is one JSON
# object with what the client received: pid, text, tool_calls [{id, name, arguments}],
# finish_reason, usage (the SDK's own field names), id, model, events (stream items seen).
# Retries are off so one call is one request.
from __future__ import annotations

import argparse
import json
import os
import sys

TOOL = {"name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "unit": {"type": "string"}},
                       "required": ["city"]}}
SYSTEM = "You are a terse assistant."


def _dump(obj):
    return obj.model_dump(mode="json", exclude_none=True) if obj is not None else None


def openai_chat(a, prompt):
    import openai

    extra = {"http_client": openai.DefaultHttpxClient(http2=True)} if a.http2 else {}
    client = openai.OpenAI(base_url=a.base_url, api_key=a.key, max_retries=0, **extra)
    params = dict(model=a.model or "gpt-4o-mini",
                  messages=[{"role": "system", "content": SYSTEM},
                            {"role": "user", "content": prompt}])
    if a.tools:
        params["tools"] = [{"type": "function", "function": TOOL}]
    out = {"text": "", "tool_calls": [], "events": 0}
    if not a.stream:
        r = client.chat.completions.create(**params)
        c = r.choices[0]
        out.update(text=c.message.content or "", finish_reason=c.finish_reason, id=r.id,
                   model=r.model, usage=_dump(r.usage),
                   tool_calls=[{"id": t.id, "name": t.function.name,
                                "arguments": t.function.arguments}
                               for t in c.message.tool_calls or []])
        return out
    calls: dict[int, dict] = {}
    for chunk in client.chat.completions.create(**params, stream=True,
                                                stream_options={"include_usage": True}):
        out["events"] += 1
        out.update(id=chunk.id, model=chunk.model)
        if chunk.usage is not None:
            out["usage"] = _dump(chunk.usage)
        for c in chunk.choices:
            out["text"] += c.delta.content or ""
            if c.finish_reason:
                out["finish_reason"] = c.finish_reason
            for t in c.delta.tool_calls or []:
                call = calls.setdefault(t.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = t.id or call["id"]
                if t.function:
                    call["name"] = t.function.name or call["name"]
                    call["arguments"] += t.function.arguments or ""
    out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out


def openai_responses(a, prompt):
    import openai

    extra = {"http_client": openai.DefaultHttpxClient(http2=True)} if a.http2 else {}
    client = openai.OpenAI(base_url=a.base_url, api_key=a.key, max_retries=0, **extra)
    params = dict(model=a.model or "gpt-4.1-mini", input=prompt, instructions=SYSTEM)
    if a.tools:
        params["tools"] = [{"type": "function", **TOOL}]
    out = {"text": "", "tool_calls": [], "events": 0}
    if a.stream:
        final = None
        for ev in client.responses.create(**params, stream=True):
            out["events"] += 1
            if ev.type == "response.output_text.delta":
                out["text"] += ev.delta
            elif ev.type in ("response.completed", "response.incomplete"):
                final = ev.response
    else:
        final = client.responses.create(**params)
        out["text"] = final.output_text
    out.update(id=final.id, model=final.model, finish_reason=final.status,
               usage=_dump(final.usage),
               tool_calls=[{"id": i.call_id, "name": i.name, "arguments": i.arguments}
                           for i in final.output if i.type == "function_call"])
    return out


def anthropic_messages(a, prompt):
    import anthropic

    extra = {"http_client": anthropic.DefaultHttpxClient(http2=True)} if a.http2 else {}
    client = anthropic.Anthropic(base_url=a.base_url, api_key=a.key, max_retries=0, **extra)
    params = dict(model=a.model or "claude-sonnet-4-20250514", max_tokens=256, system=SYSTEM,
                  messages=[{"role": "user", "content": prompt}])
    if a.tools:
        params["tools"] = [{"name": TOOL["name"], "description": TOOL["description"],
                            "input_schema": TOOL["parameters"]}]
    out = {"text": "", "events": 0}
    if a.stream:
        with client.messages.stream(**params) as s:
            for ev in s:
                out["events"] += 1
                if ev.type == "text":
                    out["text"] += ev.text
            m = s.get_final_message()
    else:
        m = client.messages.create(**params)
        out["text"] = "".join(b.text for b in m.content if b.type == "text")
    out.update(id=m.id, model=m.model, finish_reason=m.stop_reason, usage=_dump(m.usage),
               tool_calls=[{"id": b.id, "name": b.name, "arguments": json.dumps(b.input)}
                           for b in m.content if b.type == "tool_use"])
    return out


def gemini(a, prompt):
    from google import genai
    from google.genai import types

    opts = types.HttpOptions(base_url=a.base_url, client_args={"http2": True} if a.http2 else None,
                             retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(api_key=a.key, http_options=opts)
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name=TOOL["name"], description=TOOL["description"],
            parameters_json_schema=TOOL["parameters"])])] if a.tools else None)
    model = a.model or "gemini-2.0-flash"
    responses = (client.models.generate_content_stream(model=model, contents=prompt, config=config)
                 if a.stream else [client.models.generate_content(model=model, contents=prompt,
                                                                  config=config)])
    out = {"text": "", "tool_calls": [], "events": 0}
    for r in responses:
        out["events"] += 1
        out.update(id=r.response_id, model=r.model_version)
        if r.usage_metadata is not None:
            out["usage"] = _dump(r.usage_metadata)
        for cand in r.candidates or []:
            if cand.finish_reason is not None:
                out["finish_reason"] = getattr(cand.finish_reason, "value", cand.finish_reason)
            for part in (cand.content.parts or []) if cand.content else []:
                if part.text:
                    out["text"] += part.text
                if part.function_call:
                    fc = part.function_call
                    out["tool_calls"].append({"id": fc.id, "name": fc.name,
                                              "arguments": json.dumps(fc.args)})
    return out


def cohere_chat(a, prompt):
    import cohere
    import httpx

    extra = {"httpx_client": httpx.Client(http2=True, timeout=60)} if a.http2 else {}
    client = cohere.ClientV2(api_key=a.key, base_url=a.base_url, **extra)
    params = dict(model=a.model or "command-a-03-2025",
                  messages=[{"role": "system", "content": SYSTEM},
                            {"role": "user", "content": prompt}],
                  request_options={"max_retries": 0})
    if a.tools:
        params["tools"] = [{"type": "function", "function": TOOL}]
    out = {"text": "", "tool_calls": [], "events": 0, "model": None}
    if not a.stream:
        r = client.chat(**params)
        out.update(id=r.id, finish_reason=r.finish_reason, usage=_dump(r.usage),
                   text="".join(c.text for c in r.message.content or [] if c.type == "text"),
                   tool_calls=[{"id": t.id, "name": t.function.name,
                                "arguments": t.function.arguments}
                               for t in r.message.tool_calls or []])
        return out
    calls: dict[int, dict] = {}
    for ev in client.chat_stream(**params):
        out["events"] += 1
        if ev.type == "message-start":
            out["id"] = ev.id
        elif ev.type == "content-delta":
            out["text"] += ev.delta.message.content.text or ""
        elif ev.type == "tool-call-start":
            t = ev.delta.message.tool_calls
            calls[ev.index] = {"id": t.id, "name": t.function.name,
                               "arguments": t.function.arguments or ""}
        elif ev.type == "tool-call-delta":
            calls[ev.index]["arguments"] += ev.delta.message.tool_calls.function.arguments or ""
        elif ev.type == "message-end":
            out.update(finish_reason=ev.delta.finish_reason, usage=_dump(ev.delta.usage))
    out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out


def raw_httpx(a, _prompt):
    import httpx

    with open(a.body_file, "rb") as f:
        body = f.read()
    headers = {k.strip(): v.strip() for k, v in (h.split(":", 1) for h in a.header)}
    out = {"events": 0, "body": ""}
    with httpx.Client(http2=a.http2, timeout=60) as client:
        with client.stream("POST", a.base_url, content=body, headers=headers) as r:
            for text in r.iter_text():
                out["events"] += 1
                out["body"] += text
            out.update(status=r.status_code, http_version=r.http_version,
                       headers=dict(r.headers))
    return out


KINDS = {"openai-chat": openai_chat, "openai-responses": openai_responses,
         "anthropic": anthropic_messages, "gemini": gemini, "cohere": cohere_chat,
         "httpx": raw_httpx}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=sorted(KINDS))
    p.add_argument("--base-url", required=True, help="SDK base URL, or the full URL for httpx")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--tools", action="store_true")
    p.add_argument("--http2", action="store_true")
    p.add_argument("--model")
    p.add_argument("--prompt", default="Say hello.")
    p.add_argument("--prompt-file", help="read the prompt from this file (big prompts)")
    p.add_argument("--body-file", help="httpx: the request body")
    p.add_argument("--header", action="append", default=[], help="httpx: 'name: value'")
    a = p.parse_args()
    a.key = os.environ.get("LLMSPY_FAKE_API_KEY", "sk-llmspy-PLANTED-0123456789abcdef")
    prompt = a.prompt
    if a.prompt_file:
        with open(a.prompt_file, encoding="utf-8") as f:
            prompt = f.read()
    out = KINDS[a.kind](a, prompt)
    out = {"pid": os.getpid(), "kind": a.kind, **out}
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
