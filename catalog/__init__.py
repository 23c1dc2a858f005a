"""Project-wide pieces shared by every part: typed settings and the `catalog` command line."""
