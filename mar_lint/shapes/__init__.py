"""Native MXNet shape and dtype inference: MXNet 1.9.1's semantics in pure Python."""
