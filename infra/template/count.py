"""How many CloudFormation resources each of Roster's stacks has once SAM has transformed it
(with the SAM translator, offline), and a failure when one has more than LIMIT.

  python3 infra/template/count.py [DIR]     the templates under DIR (the repository by default)

CloudFormation refuses a stack above 500 resources; LIMIT leaves room to grow.
"""
import copy
import logging
import pathlib
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

LIMIT = 400
ROOT = pathlib.Path(__file__).resolve().parents[2]


class ManagedPolicies:
    """The AWS managed policies SAM attaches, without asking IAM (no account here)."""

    def load(self):
        base = "arn:aws:iam::aws:policy/service-role/"
        return {n: base + n for n in ["AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSLambdaRole"]}


def packaged(doc):
    """The template as `sam package` leaves it: code and nested templates in S3."""
    doc = copy.deepcopy(doc)
    fn = doc.get("Globals", {}).get("Function")
    if fn and "CodeUri" in fn:
        fn["CodeUri"] = "s3://roster-artifacts/bootstrap.zip"
    for r in doc.get("Resources", {}).values():
        if r.get("Type") == "AWS::Serverless::Application":
            r["Properties"]["Location"] = "https://roster-artifacts.s3.amazonaws.com/" + r["Properties"]["Location"]
        props = r.get("Properties", {})
        if r.get("Type") == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = "s3://roster-artifacts/bootstrap.zip"
    return doc


def count(path):
    doc = packaged(yaml_parse(path.read_text()))
    params = {name: "x" for name, p in doc.get("Parameters", {}).items() if "Default" not in p}
    params.update({"PublicUrl": "https://roster.example", "MailFromDomain": "roster.example"})
    out = transform(doc, params, ManagedPolicies())
    return len(out["Resources"])


def main():
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    base = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    templates = [base / "template.yaml", *sorted((base / "stacks").glob("*.yaml"))]
    over = []
    for t in templates:
        n = count(t)
        print(f"{n:5} resources  {t.relative_to(base)}")
        if n > LIMIT:
            over.append(f"{t.relative_to(base)} ({n})")
    if over:
        sys.exit(f"count.py: above {LIMIT} resources: {', '.join(over)}")


if __name__ == "__main__":
    main()
