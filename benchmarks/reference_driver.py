"""Grade (response, gold) pairs with the reference research code itself, in ITS environment.

    REFERENCE_VENV/bin/python benchmarks/reference_driver.py SOURCE_DIR < pairs.jsonl > verdicts.jsonl

Run by `policy_bench.py --against-reference`, never imported by deepmath. SOURCE_DIR holds the reference
repository's `utils/openmathinst_utils.py` and `uni_eval.py` as published (zwhe99/DeepMath, written out
there at run time from a fetched copy: nothing of it is committed here). The environment is the one the
reference README installs: math-verify 0.7.0, antlr4-python3-runtime 4.11.0, sympy 1.13.1 (the version
torch 2.5.1 pins). Each input line is {"response", "gold"}; each output line holds the verdict of every
reference rule on it, built from the reference's own functions exactly as its reward functions and its
evaluator combine them (`reward_func.py`, `reward_func_2.py`, `uni_eval.py`), plus each component.
"""

from __future__ import annotations

import ast
import json
import sys
import types
from pathlib import Path


def _load_reference(source_dir: Path) -> tuple[types.ModuleType, type]:
    """The reference's OpenMathInstruct module and its OBJudge class, from the published files."""
    # openmathinst_utils imports one helper from utils/data_utils, which needs transformers and tiktoken;
    # that helper only serves list inputs, which are not used here.
    data_utils = types.ModuleType("utils.data_utils")
    data_utils.most_common_element = lambda items: max(set(items), key=items.count)
    package = types.ModuleType("utils")
    package.__path__ = []
    sys.modules.update({"utils": package, "utils.data_utils": data_utils})
    omi = types.ModuleType("utils.openmathinst_utils")
    code = (source_dir / "openmathinst_utils.py").read_text()
    exec(compile(code, "openmathinst_utils.py", "exec"), omi.__dict__)
    # uni_eval.py imports vllm and torch at the top; take only the OBJudge class and what it uses.
    tree = ast.parse((source_dir / "uni_eval.py").read_text())
    judge_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "OBJudge")
    namespace: dict = {}
    prelude = (
        "import re, math\nimport sympy as sp\nfrom sympy import simplify, Eq, sympify, Pow\n"
        "from sympy.parsing.latex import parse_latex\n"
    )
    exec(compile(prelude + ast.unparse(judge_class), "uni_eval.py:OBJudge", "exec"), namespace)
    return omi, namespace["OBJudge"]


def _safe(check, *args, **kwargs) -> bool:
    """A check's verdict; an exception is False (the reward functions catch everything the same way)."""
    try:
        return bool(check(*args, **kwargs))
    except Exception:
        return False


def grade(omi: types.ModuleType, judge_class: type, response: str, gold: str) -> dict[str, bool]:
    """Every reference rule's verdict on one response, and the components they are made of."""
    from math_verify import parse, verify

    def omi_box(text: str) -> bool:
        pred = omi.extract_answer(text, extract_from_boxed=True)
        return _safe(omi.math_equal, pred, gold, check_antlr_version=False)

    def math_verify_reward(text: str) -> bool:  # the reward functions: gold as \boxed{$gold$}, 3 s verify
        return _safe(lambda: verify(parse(f"\\boxed{{${gold}$}}"), parse(text), timeout_seconds=3))

    post_think = response.split("</think>")[-1]
    single_box = response.count("\\boxed") == 1
    parts = {
        "omi_box_post": "</think>" in response and omi_box(post_think),
        "mv_post": "</think>" in response and math_verify_reward(post_think),
        "omi_box_whole": _safe(omi.process_results, response, gold, response_extract_from_boxed=True),
        "omi_line": _safe(
            omi.process_results,
            response,
            gold,
            response_extract_from_boxed=False,
            response_extract_regex=r"The answer is: (.+)$",
        ),
        # the evaluator spells the gold `\boxed{$gold}$` and keeps verify's default timeout
        "mv_eval": _safe(lambda: verify(parse(f"\\boxed{{${gold}}}$"), parse(response))),
    }
    parts["mv_whole_reward"] = single_box and math_verify_reward(response)
    parts["omi_box_whole_reward"] = single_box and omi_box(response)
    judged_text = response if "</think>" not in response else response.split("</think>")[1].strip()
    parts["judge"] = _safe(judge_class().judge, gold, judged_text, 1e-8)
    evaluator = parts["omi_box_whole"] or parts["omi_line"] or parts["mv_eval"]
    return {
        "reference": parts["omi_box_post"] or parts["mv_post"],
        "reference-single-box": parts["omi_box_whole_reward"] or parts["mv_whole_reward"],
        "reference-eval": evaluator,
        "reference-eval+judge": evaluator or parts["judge"],
        **parts,
    }


def main() -> int:
    """Read pairs on stdin, write one verdict line per pair on stdout (flushed, so a caller sees progress)."""
    omi, judge_class = _load_reference(Path(sys.argv[1]))
    out = sys.stdout
    sys.stdout = sys.stderr  # the reference prints diagnostics; only verdicts go to the real stdout
    for line in sys.stdin:
        pair = json.loads(line)
        out.write(json.dumps(grade(omi, judge_class, pair["response"], pair["gold"])) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
