from mar_lint.launcher import main

main()
