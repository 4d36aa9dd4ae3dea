"""mar-lint's built-in rules, one module per concern, registered through the `mar_lint.rules`
entry-point group like any plugin."""
