from kbapp.cli import main

# guarded: worker processes (multiprocessing spawn) import __main__ too
if __name__ == "__main__":
    raise SystemExit(main())
