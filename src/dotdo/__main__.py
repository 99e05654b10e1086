"""`python -m dotdo ...`: the `dotdo` command."""

if __name__ == "__main__":
    from dotdo.cli import main

    main()
