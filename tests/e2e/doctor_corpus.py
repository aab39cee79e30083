"""config.toml files on which ``llm-settings doctor`` must agree with OpenHands 0.62.

``cases()`` returns (name, bytes) pairs: hand-written cases for every rule of
``load_from_toml`` (parse errors, sections that raise, sections that are ignored, lax
coercion) plus generated ones (lax values for each [llm] field type, a bad value and an
unknown key in each section).
"""

from __future__ import annotations

from pathlib import Path

from tui.core import fields as F
from tui.core import openhands_rules as R

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "openhands-config.template.toml"

HAND: dict[str, str] = {
    "empty": "",
    "comments only": "# nothing here\n",
    "core only": '[core]\nmax_iterations = 50\n',
    "minimal llm": '[llm]\nmodel = "openai/gpt-4o"\n',
    # parse errors: the whole file ignored
    "invalid toml": '[llm]\nmodel = = "x"\n',
    "duplicate key": '[llm]\nmodel = "a"\nmodel = "b"\n',
    "mixed array in llm": '[llm]\nmodel = "x"\nstop = [1, "a"]\n',
    "mixed array in core": '[core]\nfile_uploads_allowed_extensions = [".txt", 1]\n',
    "mixed array in sandbox": '[sandbox]\ntrusted_dirs = ["a", 2]\n',
    "mixed array in extended": '[extended]\nx = [true, "a"]\n',
    "mixed array top level": 'x = [1, 2.5]\n[llm]\nmodel = "x"\n',
    # non-table sections
    "llm is text": 'llm = "x"\n',
    "llm is a number": 'llm = 5\n',
    "llm is a list": 'llm = ["a"]\n',
    "array of llm tables": '[[llm]]\nmodel = "x"\n',
    "core is text": 'core = "x"\n',
    "agent is text": 'agent = "x"\n',
    "array of agent tables": '[[agent]]\nenable_cmd = true\n',
    "security is text": 'security = "x"\n',
    "sandbox is a number": 'sandbox = 3\n',
    "condenser is text": 'condenser = "noop"\n',
    "kubernetes is text": 'kubernetes = "x"\n',
    "model_routing is text": 'model_routing = "x"\n',
    "mcp is text": 'mcp = "x"\n',
    "mcp is a number": 'mcp = 3\n',
    "extended is text": 'extended = "x"\n',
    # [llm]
    "unknown key in llm": '[llm]\nmodel = "x"\nnum_retrie = 3\n',
    "env-only key in llm": '[llm]\nembedding_model = "local"\n',
    "unknown key in llm group": '[llm.fast]\nmodle = "x"\n',
    "nested table in llm group": '[llm.fast.extra]\na = 1\n',
    "completion_kwargs table in group": '[llm.fast.completion_kwargs]\ntop_k = 3\n',
    "completion_kwargs inline in llm": '[llm]\ncompletion_kwargs = {top_k = 1}\n',
    "completion_kwargs inline, unknown key": '[llm]\ncompletion_kwargs = {foo = 1}\n',
    "group named like a field": '[llm.temperature]\nmodel = "x"\n',
    "group named like a field, bad key": '[llm.temperature]\nvalue = 0.5\n',
    "valid safety_settings": '[llm]\nsafety_settings = [{category = "hate", threshold = "low"}]\n',
    "safety_settings with a number": '[llm]\nsafety_settings = [{category = "hate", level = 1}]\n',
    "safety_settings not a list": '[llm]\nsafety_settings = "none"\n',
    "safety_settings array of tables": '[[llm.safety_settings]]\ncategory = "x"\n',
    "reasoning_effort any text": '[llm]\nreasoning_effort = "extreme"\n',
    "datetime in llm": '[llm]\nmodel = 1979-05-27T07:32:00Z\n',
    "bad type in group only": '[llm]\nmodel = "x"\n[llm.fast]\ntemperature = "hot"\n',
    "bad base, good group": '[llm]\ntemperature = "hot"\n[llm.fast]\nmodel = "y"\n',
    "upper-case LLM section": '[LLM]\nmodel = "x"\n',
    # [core]: not validated
    "unknown key in core": '[core]\nfoo = 1\n',
    "bad type in core": '[core]\nmax_iterations = "many"\n',
    # [agent]
    "unknown key in agent": '[agent]\nenable_cmd = true\nfoo = 1\n',
    "bad type in agent": '[agent]\nenable_cmd = "maybe"\n',
    "lax bool in agent": '[agent]\nenable_cmd = "yes"\n',
    "unknown key in agent group": '[agent.CodeActAgent]\nfoo = 1\n',
    "bad type in agent group": '[agent.CodeActAgent]\ndisabled_microagents = "github"\n',
    "agent llm_config names no group": '[agent]\nllm_config = "nowhere"\n',
    "agent condenser not a table": '[agent]\ncondenser = "noop"\n',
    # [security]: a problem raises
    "unknown key in security": '[security]\nconfirmation_mode = true\nfoo = 1\n',
    "bad type in security": '[security]\nconfirmation_mode = "sure"\n',
    "lax bool in security": '[security]\nconfirmation_mode = "on"\n',
    "security analyzer any text": '[security]\nsecurity_analyzer = "llm"\n',
    # [sandbox]: a problem raises
    "unknown key in sandbox": '[sandbox]\nfoo = 1\n',
    "bad type in sandbox": '[sandbox]\ntimeout = "long"\n',
    "lax int in sandbox": '[sandbox]\ntimeout = "120"\n',
    "sandbox env vars table": '[sandbox.runtime_startup_env_vars]\nA = "1"\n',
    "sandbox env vars not text": '[sandbox.runtime_startup_env_vars]\nA = 1\n',
    # [kubernetes], [model_routing], [mcp], [extended]
    "unknown key in kubernetes": '[kubernetes]\nfoo = "x"\n',
    "bad type in kubernetes": '[kubernetes]\nnamespace = 3\n',
    "unknown key in model_routing": '[model_routing]\nfoo = "x"\n',
    "model_routing router": '[model_routing]\nrouter_name = "noop_router"\n',
    "unknown key in mcp": '[mcp]\nfoo = []\n',
    "mcp sse servers": '[mcp]\nsse_servers = ["http://localhost:8080/sse"]\n',
    "mcp bad sse url": '[mcp]\nsse_servers = ["localhost"]\n',
    "mcp stdio server": '[mcp]\nstdio_servers = [{name = "fs", command = "npx", '
                        'args = ["-y", "x"]}]\n',
    "mcp stdio bad command": '[mcp]\nstdio_servers = [{name = "fs", command = "npx -y"}]\n',
    "mcp duplicate urls": '[mcp]\nsse_servers = ["http://a/sse", "http://a/sse"]\n',
    "extended anything": '[extended]\nfoo = 1\n[extended.llm_settings]\nx = "y"\n',
    "unknown section": '[foo]\nbar = 1\n',
    # [condenser]: a problem means the noop condenser
    "condenser noop": '[condenser]\ntype = "noop"\n',
    "condenser unknown type": '[condenser]\ntype = "magic"\n',
    "condenser type not text": '[condenser]\ntype = 3\n',
    "condenser llm without llm_config": '[condenser]\ntype = "llm"\n',
    "condenser llm with group": '[llm.cheap]\nmodel = "x"\n[condenser]\ntype = "llm"\n'
                                'llm_config = "cheap"\nmax_size = 50\n',
    "condenser llm with unknown group": '[condenser]\ntype = "llm"\nllm_config = "nope"\n',
    "condenser max_size below 2": '[condenser]\ntype = "amortized"\nmax_size = 1\n',
    "condenser max_size text": '[condenser]\ntype = "amortized"\nmax_size = "50"\n',
    "condenser unknown key": '[condenser]\ntype = "recent"\nfoo = 1\n',
    "condenser browser extra key": '[condenser]\ntype = "browser_output_masking"\nfoo = 1\n',
    "condenser structured with group name": '[condenser]\ntype = "structured"\n'
                                            'llm_config = "x"\n',
    # deeper cases
    "agent group condenser table": '[agent.CodeActAgent.condenser]\ntype = "noop"\n',
    "agent group bad condenser type": '[agent.CodeActAgent.condenser]\ntype = "magic"\n',
    "agent group unknown table": '[agent.CodeActAgent.foo]\nx = 1\n',
    "agent group model_routing bad key": '[agent.CodeActAgent.model_routing]\nfoo = 1\n',
    "agent group model_routing": '[agent.CodeActAgent.model_routing]\nrouter_name = "x"\n',
    "agent group condenser llm by name": '[agent.CodeActAgent.condenser]\ntype = "llm"\n'
                                         'llm_config = "x"\n',
    "agent group condenser untyped": '[agent.CodeActAgent.condenser]\nmax_size = 5\n',
    "agent group extended table": '[agent.CodeActAgent.extended]\nfoo = 1\n',
    "agent llm_config a number": '[agent]\nllm_config = 5\n',
    "agent microagents numbers": '[agent]\ndisabled_microagents = [1, 2]\n',
    "agent custom classpath": '[agent.Mine]\nclasspath = "nowhere.Agent"\n',
    "llm api_key a number": '[llm]\napi_key = 5\n',
    "llm empty model": '[llm]\nmodel = ""\n',
    "llm azure model": '[llm]\nmodel = "azure/gpt-4o"\n',
    "llm folder a number": '[llm]\nlog_completions_folder = 5\n',
    "llm timeout float": '[llm]\ntimeout = 30.0\n',
    "llm timeout fraction": '[llm]\ntimeout = 30.5\n',
    "llm seed text": '[llm]\nseed = "42"\n',
    "llm max_output_tokens float": '[llm]\nmax_output_tokens = 1e3\n',
    "llm num_retries inf": '[llm]\nnum_retries = inf\n',
    "llm temperature inf": '[llm]\ntemperature = inf\n',
    "llm num_retries negative": '[llm]\nnum_retries = -1\n',
    "llm temperature out of range": '[llm]\ntemperature = 5\n',
    "llm group completion_kwargs inline": '[llm.g]\ncompletion_kwargs = {a = 1}\n',
    "llm deep completion_kwargs": '[llm.g.completion_kwargs.extra_body]\nx = 1\n',
    "llm quoted group name": '[llm."my.group"]\nmodel = "x"\n',
    "llm empty group": '[llm.empty]\n',
    "model_routing llm": '[model_routing.llms_for_routing.x]\nmodel = "y"\n',
    "model_routing llm bad key": '[model_routing.llms_for_routing.x]\nmodle = "y"\n',
    "sandbox user_id float": '[sandbox]\nuser_id = 1000.0\n',
    "sandbox docker kwargs": '[sandbox.docker_runtime_kwargs]\nmem_limit = "4g"\n',
    "sandbox env vars text": '[sandbox]\nruntime_startup_env_vars = "A=1"\n',
    "security analyzer number": '[security]\nsecurity_analyzer = 5\n',
    "kubernetes lax bool": '[kubernetes]\nprivileged = "yes"\n',
    "mcp stdio env text": '[mcp]\nstdio_servers = [{name = "fs", command = "npx", '
                          'env = "A=1,B=2", args = "-y pkg"}]\n',
    "mcp stdio name with space": '[mcp]\nstdio_servers = [{name = "my fs", command = "npx"}]\n',
    "mcp stdio no command": '[mcp]\nstdio_servers = [{name = "fs"}]\n',
    "mcp shttp timeout 0": '[mcp]\nshttp_servers = [{url = "http://a/mcp", timeout = 0}]\n',
    "mcp shttp timeout text": '[mcp]\nshttp_servers = [{url = "http://a/mcp", timeout = "30"}]\n',
    "mcp sse table entry": '[mcp]\nsse_servers = [{url = "http://a/sse", api_key = "k"}]\n',
    "mcp sse entry without url": '[mcp]\nsse_servers = [{api_key = "k"}]\n',
    "mcp sse servers text": '[mcp]\nsse_servers = "http://a/sse"\n',
    "mcp sse servers number": '[mcp]\nsse_servers = 5\n',
    "condenser pipeline": '[condenser]\ntype = "pipeline"\ncondensers = [{type = "noop"}]\n',
    "condenser pipeline bad member": '[condenser]\ntype = "pipeline"\n'
                                     'condensers = [{type = "magic"}]\n',
    "condenser llm inline llm_config": '[condenser]\ntype = "llm"\n'
                                       'llm_config = {model = "x"}\n',
    "condenser llm lax max_size": '[llm]\n[condenser]\ntype = "llm"\nllm_config = "llm"\n'
                                  'max_size = "50"\n',
    "condenser noop extra key": '[condenser]\ntype = "noop"\nmax_size = 5\n',
    "core secret a number": '[core]\nsearch_api_key = 5\n',
    "top-level key": 'foo = 1\n[llm]\nmodel = "x"\n',
    "dotted keys": '[llm]\nmodel = "x"\ngroup.model = "y"\n',
    "local date": '[extended]\nd = 1979-05-27\n',
    "local time": '[extended]\nt = 07:32:00\n',
    "array of arrays": '[extended]\nx = [[1], ["a"]]\n',
    "array of inline tables": '[extended]\nx = [{a = 1}, {b = "x"}]\n',
}

# Values pydantic's lax mode accepts, and ones it refuses, for each [llm] field type.
LAX: dict[type, tuple[list[str], list[str]]] = {
    int: (['"5"', "5.0", '" 7 "', '"1_000"', '"5.00"', "true"],
          ["5.5", '"5.5"', '"1e3"', '"five"', "1e20", '""']),
    float: (['"0.5"', "1", '"1e-3"', '"inf"', "true"], ['"warm"', '"0x10"', "[0.5]"]),
    bool: (['"true"', '"yes"', '"off"', "1", "0.0", '"T"'],
           ['"maybe"', "2", '" true"', '"enabled"']),
    str: (['""'], ["5", "true", "[\"a\"]"]),
    dict: (["{a = 1}"], []),
}
POOL = ['"5"', "5", "5.0", "5.5", "0", "1", "-1", "true", '"yes"', '"x"', '""', "[]", '["a"]',
        "[1]", "{}", '{a = "b"}', "{a = 1}", "inf", "1979-05-27T07:32:00Z",
        '[{category = "c", threshold = "t"}]']
SECTION_FIELDS = {"agent": R.AGENT, "security": R.SECURITY, "sandbox": R.SANDBOX,
                  "kubernetes": R.KUBERNETES, "condenser": {"type": "str"},
                  "model_routing": {"router_name": "str"}}
SAMPLE = {int: "num_retries", float: "temperature", bool: "drop_params", str: "base_url",
          dict: "completion_kwargs"}


def generated() -> dict[str, str]:
    out = {}
    for kind, (good, bad) in LAX.items():
        name = SAMPLE[kind]
        for v in good + bad:
            out[f"{name} = {v}"] = f'[llm]\nmodel = "x"\n{name} = {v}\n'
            out[f"[llm.g] {name} = {v}"] = f'[llm.g]\n{name} = {v}\n'
    for f in F.FIELDS:  # every [llm] field against every kind of TOML value
        if not f.env_only and f.section == "llm":
            for i, v in enumerate(POOL):
                out[f"{f.name} = {v} (pool {i})"] = f"[llm]\n{f.name} = {v}\n"
    for section, spec in SECTION_FIELDS.items():  # and the other sections' fields
        for key in spec:
            for i, v in enumerate(POOL):
                out[f"[{section}] {key} = {v} (pool {i})"] = f"[{section}]\n{key} = {v}\n"
    for f in F.FIELDS:  # every registry field, written the way llm-settings writes it
        if f.env_only or f.section != "llm" or f.default is None:
            continue
        value = {bool: lambda v: str(v).lower(), str: lambda v: f'"{v}"'}.get(
            f.type, str)(f.default)
        out[f"default {f.name}"] = f"[llm]\n{f.name} = {value}\n"
    return out


def cases() -> list[tuple[str, bytes]]:
    template = TEMPLATE.read_bytes()
    out = [(k, v.encode()) for k, v in {**HAND, **generated()}.items()]
    out += [
        ("template", template),
        ("template, CRLF", template.replace(b"\n", b"\r\n")),
        ("template, BOM", b"\xef\xbb\xbf" + template),
        ("BOM", b'\xef\xbb\xbf[llm]\nmodel = "x"\n'),
        ("not UTF-8", b'[llm]\nmodel = "caf\xe9"\n'),
        ("CRLF", b'[llm]\r\nmodel = "x"\r\nnum_retries = 5\r\n'),
        ("arrays nested 5,000 deep", b'[core]\nx = ' + b"[" * 5000 + b"]" * 5000 + b"\n"),
    ]
    return out
