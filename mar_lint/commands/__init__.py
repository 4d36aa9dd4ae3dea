"""One module per `mar-lint` sub-command."""
