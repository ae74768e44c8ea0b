"""A Jinja2 environment configured like transformers' chat-template renderer (used as the reference oracle)."""
import json
from datetime import datetime
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols
from jinja2.exceptions import TemplateError


def _raise_exception(message):
    raise TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def render(env, source, context):
    """Returns {"rendered": str} or {"error": exception type name}."""
    try:
        return {"rendered": env.from_string(source).render(**context)}
    except Exception as e:  # noqa: BLE001 - the oracle records any failure
        return {"error": type(e).__name__, "message": str(e)}
