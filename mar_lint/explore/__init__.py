"""What `mar-lint explore` shows, in four parts:

- `reading`: the view explore reads through (`ExploreView`), which reports the bytes it reads
  for a progress bar;
- `gather`: the facts as plain data, from a `ModelView`: the JSON document `--format json`
  prints, and nothing rendered (it never imports rich);
- `render`: that document for people, with rich;
- `drawing`: the network as Graphviz DOT text, with the shapes the view infers.

Everything shown comes from the archive, so everything is hostile: text is cleaned of control
and bidirectional characters before it reaches a terminal, rich markup is never built from it
(Text objects only), every read is bounded by the limits, and the service file is outlined
with `ast`, never imported.
"""
