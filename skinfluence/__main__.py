"""``python -m skinfluence`` runs the demo."""

if __name__ == "__main__":
    from skinfluence._demo import main

    main()
