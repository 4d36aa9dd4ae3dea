"""Package discovery, which pyproject.toml alone cannot express: `rules/` is a top-level folder
of the repository, installed as the package `mar_lint_rules` (a top-level package named
`rules` would collide with any other distribution that ships one), and setuptools' `find`
directive never renames. Every other setting is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

# Namespace discovery also finds data folders (mar_lint/schemas), so their files are package
# data of a listed package rather than of an undeclared one.
ENGINE = find_namespace_packages(include=["mar_lint", "mar_lint.*"], exclude=["*.__pycache__"])
RULES = find_namespace_packages(where="rules", exclude=["*.__pycache__", "__pycache__"])

setup(
    packages=[*ENGINE, "mar_lint_rules", *(f"mar_lint_rules.{name}" for name in RULES)],
    package_dir={"mar_lint_rules": "rules"},
)
