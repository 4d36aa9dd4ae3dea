from mar_lint.cli import main

main()
