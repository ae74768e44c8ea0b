"""Generates fixtures/qwen3_extra.json: the Qwen3 chat template (from the shared tokenizer fixture) rendered by Python
Jinja2 in a transformers-like environment for conversations with tools, tool calls, tool results, reasoning and
enable_thinking. Run: python3 tools/gen_qwen3_cases.py /path/to/shared/fixtures"""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from hf_env import make_env, render

root = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures"
cfg = json.load(open(os.path.join(root, "tokenizers", "qwen3", "tokenizer_config.json")))
template = cfg["chat_template"]

weather = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city, in °C.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                          "days": {"type": "integer", "minimum": 1}}, "required": ["city"]}}}
clock = {"type": "function", "function": {"name": "now", "description": "Current time", "parameters": {"type": "object", "properties": {}}}}

cases = [
    {"name": "thinking_off", "messages": [{"role": "user", "content": "Speak, speak."}], "kwargs": {"enable_thinking": False}},
    {"name": "thinking_on", "messages": [{"role": "user", "content": "Speak, speak."}], "kwargs": {"enable_thinking": True}},
    {"name": "no_generation_prompt", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Who is there?"}, {"role": "assistant", "content": "Nay, answer me."}]},
    {"name": "tools_with_system", "tools": [weather, clock],
     "messages": [{"role": "system", "content": "You are a player."}, {"role": "user", "content": "Weather in Verona?"}]},
    {"name": "tool_call_round_trip", "tools": [weather],
     "messages": [
         {"role": "user", "content": "Weather in Verona?"},
         {"role": "assistant", "content": "", "tool_calls": [
             {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Verona", "days": 2}}}]},
         {"role": "tool", "content": "{\"temp\": 21}"},
         {"role": "tool", "content": "sunny"},
         {"role": "assistant", "content": "It is 21 °C and sunny."},
         {"role": "user", "content": "Thanks!"}]},
    {"name": "tool_call_string_arguments", "tools": [weather],
     "messages": [
         {"role": "user", "content": "Weather?"},
         {"role": "assistant", "content": "Let me check.", "tool_calls": [
             {"id": "c1", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
             {"name": "now", "arguments": {}}]}]},
    {"name": "reasoning_in_content",
     "messages": [
         {"role": "user", "content": "Think first."},
         {"role": "assistant", "content": "<think>\nPonder.\n</think>\n\nDone."},
         {"role": "user", "content": "Again."},
         {"role": "assistant", "content": "<think>\nMore.\n</think>\n\nAnswer."}]},
    {"name": "reasoning_field", "add_generation_prompt": False,
     "messages": [
         {"role": "user", "content": "Q"},
         {"role": "assistant", "content": "A", "reasoning_content": "because"}]},
    {"name": "system_later_and_tool_response_user",
     "messages": [
         {"role": "user", "content": "<tool_response>x</tool_response>"},
         {"role": "system", "content": "Late system."},
         {"role": "user", "content": "Go"}]},
]

env = make_env()
out = []
for c in cases:
    ctx = {"messages": c["messages"], "tools": c.get("tools"), "documents": None,
           "add_generation_prompt": c.get("add_generation_prompt", True), "eos_token": cfg["eos_token"],
           "pad_token": cfg["pad_token"], **c.get("kwargs", {})}
    res = render(env, template, ctx)
    assert "rendered" in res, res
    out.append({**c, "add_generation_prompt": ctx["add_generation_prompt"], "rendered": res["rendered"]})
    print(c["name"], repr(res["rendered"][:300]))
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "qwen3_extra.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump({"producer": "Python Jinja2 with tools/hf_env.py on shared/fixtures/tokenizers/qwen3", "cases": out}, f, ensure_ascii=False, indent=1)
