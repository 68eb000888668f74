# Shared by the reference scripts: write R values as JSON at full precision.
# JSON writer at full precision: numbers as sprintf("%.17g"); NA / NaN / Inf as strings
# (jsonlite 1.8 caps numbers at 15 significant digits)
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 2)
  num <- function(v) ifelse(is.na(v) & !is.nan(v), '"NA"', ifelse(is.nan(v), '"NaN"',
                     ifelse(is.infinite(v), ifelse(v > 0, '"Inf"', '"-Inf"'), sprintf("%.17g", v))))
  if (is.list(x)) {
    nm <- names(x)
    items <- vapply(seq_along(x), function(i) {
      val <- to_json(x[[i]], indent + 2)
      if (is.null(nm)) paste0(pad, val) else paste0(pad, '"', nm[i], '": ', val)
    }, "")
    open <- if (is.null(nm)) "[" else "{"
    close <- if (is.null(nm)) "]" else "}"
    if (length(items) == 0) return(paste0(open, close))
    return(paste0(open, "\n", paste(items, collapse = ",\n"), "\n", strrep(" ", indent), close))
  }
  if (is.character(x)) {
    s <- paste0('"', gsub('"', '\\"', x, fixed = TRUE), '"')
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), '"NA"', ifelse(x, "true", "false"))
  } else {
    s <- num(as.numeric(x))
  }
  if (length(x) == 1 && is.null(attr(x, "as_array"))) return(s)
  paste0("[", paste(s, collapse = ", "), "]")
}
