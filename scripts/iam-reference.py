"""Runs parliament (IAM reference linter) on policy documents. Called by scripts/validate.ts.

stdin: JSON list of {"id": str, "document": object}. stdout: JSON list of findings
{"id", "issue", "severity", "detail", "location"} with detail/location as plain strings, because
parliament's own objects (jsoncfg nodes) are not JSON-serializable.
"""
import json
import sys

import jsoncfg
import parliament
import parliament.finding
from parliament import analyze_policy_string


def plain(value):
    """jsoncfg nodes -> their Python values; everything else -> JSON-able."""
    if isinstance(value, jsoncfg.config_classes.ConfigNode):
        return plain(value())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def main():
    items = json.load(sys.stdin)
    out = []
    for item in items:
        try:
            findings = analyze_policy_string(json.dumps(item["document"])).findings
        except Exception as e:  # a parliament crash on one document is a finding, not a lost run
            findings = [parliament.finding.Finding("EXCEPTION", repr(e), {})]
        for f in findings:
            out.append(
                {
                    "id": item["id"],
                    "issue": f.issue,
                    "severity": parliament.config.get(f.issue, {}).get("severity", ""),
                    "detail": json.dumps(plain(f.detail), sort_keys=True),
                    "location": json.dumps(plain(f.location), sort_keys=True),
                }
            )
    json.dump({"version": parliament.__version__, "findings": out}, sys.stdout)


if __name__ == "__main__":
    main()
