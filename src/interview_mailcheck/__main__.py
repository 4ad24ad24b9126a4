from interview_mailcheck.cli import main

main()
