"""Generates fixtures/jinja_cases.json: small templates with the output Python Jinja2 gives for them in an
environment configured like transformers (see hf_env.py). Run: python3 tools/gen_jinja_cases.py"""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from hf_env import make_env, render

msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi  there "},
        {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]
D = {"messages": msgs, "d": {"b": 2, "a": 1, "items": [1, 2]}, "s": "Hello, World", "n": 7, "f": 2.5,
     "xs": [3, 1, 2], "words": ["b", "A", "c", "a"], "e": "", "none": None, "t": True,
     "u": "héllo \"q\" 😀\n", "nested": {"k": [1, {"z": None, "y": [True, False]}], "f": 1.0, "g": 1e-7}}

C = [
 # output, literals, whitespace control
 ("text", "plain text", {}),
 ("output_str", "{{ s }}", D),
 ("output_kinds", "{{ n }}|{{ f }}|{{ none }}|{{ t }}|{{ xs }}|{{ d }}|{{ (1, 'a') }}|{{ (1,) }}|{{ 1.0 }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}|{{ 1e-7 }}", D),
 ("output_repr_quotes", "{{ [\"it's\", 'say \"x\"', 'both \\' \"', 'nl\\n'] }}", {}),
 ("literals", "{{ true }}{{ True }}{{ false }}{{ False }}{{ none }}{{ None }}{{ 'a' 'b' }}{{ \"q\\tx\" }}{{ 1_000 }}", {}),
 ("undefined_prints_empty", "[{{ missing }}][{{ d.nope }}][{{ d['nope'] }}][{{ xs[10] }}]", D),
 ("dash_both", "a  \n  {{- s -}}  \n  b", D),
 ("dash_block", "x\n  {%- if t -%}\n  y  \n  {%- endif -%}\n z", D),
 ("trim_blocks", "{% if t %}\nyes\n{% endif %}\nafter", D),
 ("lstrip_blocks", "start\n    {% if t %}\n    inner\n    {% endif %}\nend", D),
 ("lstrip_not_midline", "a {% if t %}b{% endif %} c\n  {{ s }}\n", D),
 ("plus_disables_lstrip", "x\n  {%+ if t %}y{% endif %}", D),
 ("plus_disables_trim", "{% if t +%}\ny{% endif %}", D),
 ("comment", "a\n  {# a comment #}\nb{# x -#}   c", {}),
 ("comment_dash", "a   {#- c -#}   b", {}),
 ("trailing_newline", "x\n", {}),
 ("crlf", "a\r\n{% if t %}\r\nb\r\n{% endif %}\r\nc", D),
 ("raw", "{% raw %}{{ not parsed }}{% endraw %}", {}),
 # loops
 ("for_basic", "{% for m in messages %}{{ loop.index }}/{{ loop.length }}:{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}", D),
 ("for_loop_vars", "{% for x in xs %}[{{ loop.index0 }} {{ loop.revindex }} {{ loop.revindex0 }} {{ loop.first }} {{ loop.last }} {{ loop.previtem }} {{ loop.nextitem }}]{% endfor %}", D),
 ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in xs %}{{ x }}{% else %}no{% endfor %}", D),
 ("for_filter", "{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role[0] }}{% endfor %}", D),
 ("for_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", D),
 ("for_dict_keys", "{% for k in d %}{{ k }}{% endfor %}", D),
 ("for_string", "{% for c in 'abc' %}{{ c }}-{% endfor %}", {}),
 ("for_scope", "{% set a = 1 %}{% for i in [1,2] %}{{ a }}{% set a = a + 1 %}{{ a }}{% endfor %}|{{ a }}|{{ i }}", {}),
 ("for_scope_iter", "{% for i in [1,2,3] %}{% if loop.first %}{% set b = 5 %}{% endif %}[{{ b }}]{% endfor %}", {}),
 ("for_nested_loop", "{% for a in [1,2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}", {}),
 ("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
 ("for_reverse_slice", "{% for m in messages[::-1] %}{{ m.role }} {% endfor %}", D),
 ("for_undefined", "{% for x in nothing %}x{% else %}none{% endfor %}", {}),
 ("loop_cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", D),
 ("range", "{{ range(3)|list }}{{ range(1, 7, 2) | list }}{{ range(5, 0, -2) | list }}", {}),
 # if / set / namespace / macro
 ("if_elif_else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
 ("set_tuple", "{% set a, b = 1, 'x' %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}", {}),
 ("set_block", "{% set body %}\n  Hi {{ s }}\n{% endset %}[{{ body }}]", D),
 ("set_block_filter", "{% set body | upper %}abc{% endset %}{{ body }}", {}),
 ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.count = ns.count + 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", D),
 ("macro", "{% macro tag(name, value='v', sep=': ') %}<{{ name }}{{ sep }}{{ value }}>{% endmacro %}{{ tag('a') }}{{ tag('b', 2) }}{{ tag('c', sep='=') }}", {}),
 ("macro_closure", "{% macro show() %}{{ greeting }}{% endmacro %}{% set greeting = 'hey' %}{{ show() }}", {}),
 ("macro_recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n }}*{{ fact(n - 1) }}{% endif %}{% endmacro %}{{ fact(4) }}", {}),
 ("macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", {}),
 ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ s }}{% endcall %}", D),
 ("filter_block", "{% filter upper %}shout {{ s }}{% endfilter %}", D),
 ("inline_if", "{{ 'yes' if t else 'no' }} {{ 'a' if false }}|{{ 1 if none else 2 if t else 3 }}", D),
 # operators
 ("arith", "{{ 7 + 2 }} {{ 7 - 2 }} {{ 7 * 2 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 7.5 // 2 }} {{ -3 }} {{ +3 }} {{ 1 + 2.5 }} {{ true + 1 }}", {}),
 ("concat", "{{ 'a' ~ 1 ~ none ~ missing ~ [1] }} {{ 'x' + 'y' }} {{ [1] + [2, 3] }} {{ 'ab' * 3 }} {{ [0] * 3 }}", {}),
 ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ xs|length - 1 }} {{ -xs|length if false else 0 }} {{ -n|abs }} {{ not t or t }} {{ not (t and false) }} {{ 'a' ~ 1 + 2 if false else 'p' }}", D),
 ("compare", "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ [1, 2] < [1, 3] }} {{ 'abc' < 'abd' }} {{ none == none }} {{ missing == missing }} {{ true == 1 }}", {}),
 ("in_ops", "{{ 'ell' in s }} {{ 'x' not in s }} {{ 2 in xs }} {{ 'a' in d }} {{ 'zz' in d }} {{ 1 in [1.0] }} {{ 'q' in missing }}", D),
 ("and_or_values", "{{ e or 'fallback' }} {{ s and 'yes' }} {{ none or 0 or '' or 'last' }} {{ 0 and 1 }}", D),
 ("indexing", "{{ xs[0] }} {{ xs[-1] }} {{ s[0] }} {{ s[-5:] }} {{ s[::2] }} {{ s[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[5:1:-2] }} {{ d['a'] }} {{ d.a }} {{ nested.k[1].y[0] }} {{ messages[0]['role'] }} {{ xs.0 }}", D),
 ("unicode", "{{ u|length }} {{ u[6] }} {{ u[::-1] }} {{ u.upper() }}", D),
 # filters
 ("filters_text", "{{ '  pad  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ s|upper }}|{{ s|lower }}|{{ 'hello wORLD-foo (bar'|title }}|{{ 'hELLO'|capitalize }}|{{ s|replace('l', 'L') }}|{{ s|replace('l', 'L', 2) }}|{{ 42|string ~ '!' }}", D),
 ("filters_num", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 3|float }} {{ 'a'|float }} {{ -4|abs }} {{ -2.5|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ '0x1A'|int(base=16) }}", {}),
 ("filters_default", "{{ missing|default('dflt') }} {{ e|default('dflt') }} {{ e|default('dflt', true) }} {{ none|default('x') }} {{ missing|d('short') }} {{ s|default('no') }}", D),
 ("filters_collections", "{{ xs|length }} {{ s|length }} {{ d|length }} {{ xs|first }} {{ xs|last }} {{ s|first }} {{ xs|join(', ') }} {{ xs|join }} {{ xs|sort }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ xs|sort(reverse=true) }} {{ xs|reverse|list }} {{ s|reverse }} {{ xs|sum }} {{ xs|min }} {{ xs|max }} {{ words|unique|list }} {{ d|list }} {{ 'ab'|list }} {{ xs|count }}", D),
 ("filters_items", "{% for k, v in d|items %}{{ k }}:{{ v }} {% endfor %}{{ d|dictsort }}", D),
 ("filters_select", "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('|') }} / {{ messages|rejectattr('role', 'eq', 'user')|map(attribute='role')|list }} / {{ [0, 1, 2, none, '']|select|list }} / {{ [1, 2, 3, 4]|select('odd')|list }} / {{ [1, 2, 3, 4]|reject('even')|list }} / {{ ['a', 'b']|map('upper')|list }} / {{ messages|selectattr('missing')|list|length }} / {{ [{'a': {'b': 1}}, {'a': {'b': 2}}]|map(attribute='a.b')|list }}", D),
 ("filters_map_default", "{{ [{'x': 1}, {}]|map(attribute='x', default=0)|list }}", {}),
 ("filters_misc", "{{ '<a href=\"x\">&</a>'|e }} {{ '<b>'|safe }} {{ 'a\\nb\\n\\nc'|indent(2) }} {{ 'a\\nb'|indent(2, true) }} {{ '%s-%d'|format('x', 3) }} {{ 'ab'|center(6) }}| {{ 'one two three'|wordcount }} {{ [1,2,3,4,5]|batch(2)|list }} {{ 'hello world foo bar'|truncate(11, leeway=0) }} {{ {'a': 1}|attr('items') is callable }}", {}),
 ("tojson", "{{ d|tojson }}|{{ nested|tojson }}|{{ u|tojson }}|{{ xs|tojson(indent=2) }}|{{ d|tojson(indent=4) }}|{{ {}|tojson(indent=2) }}|{{ []|tojson }}|{{ none|tojson }}|{{ 'a/b<c>&\\'d'|tojson }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ 1.5|tojson }}|{{ (1, 2)|tojson }}", D),
 ("tojson_nested_indent", "{{ nested|tojson(indent=2) }}", D),
 ("tojson_ascii", "{{ u|tojson(ensure_ascii=true) }}", D),
 # tests
 ("tests_types", "{% for v in [1, 1.5, 'a', [1], {'a': 1}, none, true, false] %}{{ v is number }}{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is sequence }}{{ v is mapping }}{{ v is iterable }}{{ v is boolean }}{{ v is none }}{{ v is true }}{{ v is false }} {% endfor %}", {}),
 ("tests_defined", "{{ missing is defined }} {{ missing is undefined }} {{ s is defined }} {{ d.zz is defined }} {{ d.a is not defined }} {{ none is defined }} {{ missing is iterable }} {{ missing is sequence }}", D),
 ("tests_numbers", "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 3 is eq 3 }} {{ 3 is ne 3 }} {{ 3 is lt 4 }} {{ 3 is ge 4 }} {{ 2 is in [1, 2] }} {{ 'AB' is upper }} {{ 'ab' is lower }} {{ 1 is sameas 1 }} {{ none is sameas none }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ range is callable }}", {}),
 # methods
 ("str_methods", "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'World')) }} {{ s.split(', ') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }} {{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'x  '.rstrip() }}| {{ s.upper() }} {{ s.lower() }} {{ s.replace('o', '0') }} {{ s.find('o') }} {{ s.find('z') }} {{ s.count('l') }} {{ s.title() }} {{ 'hello'.capitalize() }} {{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ s.rfind('o') }} {{ '{} and {}'.format('x', 2) }} {{ '{0}{name}'.format('a', name='b') }}", D),
 ("str_split_edge", "{{ 'a  b'.split(' ') }} {{ ''.split() }} {{ ''.split(',') }} {{ 'x'.rsplit(',') }} {{ ' a b c '.split(none, 1) }} {{ ' a b c '.rsplit(none, 1) }}", {}),
 ("dict_methods", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d['items'] }}", D),
 ("list_methods", "{{ xs.index(1) }} {{ xs.count(3) }}", D),
 ("think_split", "{% set c = '<think>\\nreason\\n</think>\\n\\nanswer' %}{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}", {}),
 ("dict_literal", "{% set x = {'a': 1, 'b': [1, 2], 'c': {'d': none}} %}{{ x }} {{ x.c.d }} {{ dict(a=1, b='x') }}", {}),
 # errors: the oracle records that Jinja fails; we must fail too
 ("err_str_plus_int", "{{ 'a' + 1 }}", {}),
 ("err_undefined_attr", "{{ missing.attr }}", {}),
 ("err_undefined_arith", "{{ missing + 1 }}", {}),
 ("err_raise", "{{ raise_exception('Roles must alternate') }}", {}),
 ("err_div_zero", "{{ 1 / 0 }}", {}),
 ("err_not_iterable", "{% for x in 5 %}{% endfor %}", {}),
 ("err_call_undefined", "{{ nothing() }}", {}),
 ("err_set_attr_non_namespace", "{% set d.a = 1 %}", D),
 ("err_mutation", "{{ xs.append(4) }}", D),
 ("err_neg_list", "{{ -xs|length }}", D),
 ("err_compare_types", "{{ 1 < 'a' }}", {}),
]

# Idioms seen in published chat templates, in templates written for these tests.
parts_msgs = [{"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": "image"}, {"type": "text", "text": "what?"}]},
              {"role": "assistant", "content": "A cat."}]
tool_msgs = [{"role": "system", "content": "Sys"}, {"role": "user", "content": "Q"},
             {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1, "s": "é"}}}]},
             {"role": "tool", "content": {"ok": True}}, {"role": "ipython", "content": "raw"}]
alt_bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
C += [
 ("idiom_date_default", "{%- if not date_string is defined %}\n    {%- if strftime_now is defined %}\n        {%- set date_string = 'dynamic' %}\n    {%- else %}\n        {%- set date_string = '26 Jul 2024' %}\n    {%- endif %}\n{%- endif %}\nDate: {{ date_string }}", {}),
 ("idiom_date_given", "{%- if not date_string is defined %}{%- set date_string = 'x' %}{%- endif %}{{ date_string }}", {"date_string": "01 Jan 2025"}),
 ("idiom_system_split", "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = '' %}\n{%- endif %}\n[{{ system_message }}]{% for m in messages %}{{ m.role }};{% endfor %}", D),
 ("idiom_alternation_ok", "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{{ '[INST] ' + message['content'] + ' [/INST]' if message['role'] == 'user' else message['content'] + eos_token }}{% endfor %}", {"messages": msgs[1:], "eos_token": "</s>"}),
 ("idiom_alternation_bad", "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% endfor %}", {"messages": alt_bad}),
 ("idiom_content_parts", "{%- for message in messages %}\n<{{ message.role }}>\n    {%- if message.content is string %}\n{{ message.content }}\n    {%- else %}\n        {%- for part in message.content if part.type == 'text' %}\n{{ part.text }}{{ ' ' if not loop.last }}\n        {%- endfor %}\n    {%- endif %}\n{%- endfor %}", {"messages": parts_msgs}),
 ("idiom_tool_calls", "{%- for message in messages %}\n    {%- if message.role in ['ipython', 'tool'] %}\n{{ '<tool>' }}{% if message.content is mapping or message.content is iterable and message.content is not string %}{{ message.content | tojson }}{% else %}{{ message.content }}{% endif %}\n    {%- elif 'tool_calls' in message %}\n        {%- set tool_call = message.tool_calls[0].function %}\n{{- '{\"name\": \"' + tool_call.name + '\", ' }}{{- '\"parameters\": ' }}{{- tool_call.arguments | tojson }}{{- '}' }}\n    {%- else %}\n{{ message.role | capitalize }}: {{ message.content }}\n    {%- endif %}\n{% endfor %}", {"messages": tool_msgs}),
 ("idiom_gemma_role", "{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}", {"messages": msgs[1:]}),
 ("idiom_ns_flags", "{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{ '<U>' + message['content'] }}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{{ '<A>' + message['content'] + '<E>' }}{%- endif %}{%- endfor -%}{% if add_generation_prompt and not ns.is_tool %}{{ '<A>' }}{% endif %}", {"messages": msgs, "bos_token": "<B>", "add_generation_prompt": True}),
 ("idiom_last_user_index", "{%- set ns = namespace(last=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last = loop.index0 %}{%- endif %}{%- endfor %}{{ ns.last }} {{ (messages | selectattr('role', 'equalto', 'user') | list | last).content }}", D),
 ("idiom_tools_json_lines", "{%- if tools is not none and tools | length > 0 %}{%- for tool in tools %}\n{{ tool | tojson(indent=4) }}\n{% endfor %}{%- endif %}", {"tools": [{"name": "a", "parameters": {"type": "object", "properties": {"q": {"type": "string", "enum": ["x", "y"]}}}}]}),
 ("idiom_tools_none", "{%- if tools is not none and tools | length > 0 %}T{% else %}none{% endif %}", {"tools": None}),
 ("idiom_multiline_strip", "{%- set content = message.content.strip() %}\n{%- if '</think>' in content %}\n    {%- set content = content.split('</think>')[-1] %}\n{%- endif %}\n{{- content -}}", {"message": {"content": "  <think>x</think>  answer  "}}),
]

C += [
 ("misc_scoping", "[{{ loop }}]{% set x = 5 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 6 %}{{ m() }}{% for o in [1] %}{% macro n() %}{{ o }}{% endmacro %}{{ n() }}{% endfor %}", {}),
 ("misc_format", "{{ '%.2f'|format(3.14159) }} {{ '%d items'|format(3) }} {{ 'Hi %s'|format(none) }} {{ '%5s|%-5s|'|format('a', 'b') }} {{ '%05d'|format(42) }} {{ '%s and %s' % ('x', 'y') }} {{ '%(a)s' % {'a': 1} }}", {}),
 ("misc_chains", "{{ [3,1,2]|sort|first }} {{ messages|map(attribute='role')|unique|list }} {{ 'a' in ['a', 'b'] and not 'c' in ['a'] }} {{ s is not none and s is string }} {{ 10 // 3 * 3 }} {{ 2 * -1 }} {{ ('a', 'b')|join('-') }} {{ none|string }} {{ none|default('x', true) }} [{{ []|first }}] {{ {'a': 1}|items|list }} {{ 'abc'[1:] ~ 'x'[5:] }}", D),
 ("misc_for_else_break", "{% for i in range(3) %}{{ i }}{% if i == 1 %}{% break %}{% endif %}{% else %}E{% endfor %}", {}),
 ("misc_numbers", "{{ 1.0 == 1 }} {{ 0.1 * 3 }} {{ 2 ** -1 }} {{ 10 / 4 }} {{ 1e3 }} {{ 123456789.0 * 1e8 }} {{ 3 * 'ab' }} {{ true and 'x' or 'y' }} {{ 1 if true }} {{ -0.0 }} {{ 1/3 }} {{ 2**62 }} {{ 100000000000000000.0 }} {{ 1.5e-5 }} {{ 0.0001 }}", {}),
 ("misc_ws_mix", "<\n{%- for m in messages %}\n  {{ m.role }}\n{%- endfor %}\n>\n{% for m in messages -%}\n   [{{ loop.index }}]\n{% endfor -%}\n.", D),
 ("misc_set_conditional", "{% set a = b if b is defined else 'c' %}{{ a }}{% set b = 'bb' %}{% set a = b if b is defined else 'c' %}{{ a }}", {}),
 ("misc_nested_data", "{% for m in data.msgs %}{% for c in m.calls %}{{ c.fn.name }}({{ c.fn.args|tojson }}){% if not loop.last %}, {% endif %}{% endfor %};{% endfor %}", {"data": {"msgs": [{"calls": [{"fn": {"name": "a", "args": {"k": [1, 2]}}}, {"fn": {"name": "b", "args": {}}}]}, {"calls": []}]}}),
 ("misc_string_escapes", "{{ 'tab\\there' }}|{{ '\\u00e9\\x41' }}|{{ 'a\\'b' }}|{{ \"a\\\"b\" }}|{{ 'back\\\\slash' }}|{{ '\\d' }}", {}),
]

def main():
    env = make_env()
    out = []
    for name, src, ctx in C:
        res = render(env, src, ctx)
        out.append({"name": name, "template": src, "context": ctx, **res})
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "jinja_cases.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"producer": "Python Jinja2 (see tools/hf_env.py for the transformers-like environment)", "cases": out}, f, ensure_ascii=False, indent=1)
    for c in out:
        print(c["name"], repr(c.get("rendered", "ERR " + c.get("error", "") + " " + c.get("message", ""))))

main()
