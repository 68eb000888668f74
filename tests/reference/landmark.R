# Reference results for tests/test_effects_landmark.py: Kaplan-Meier landmark survival with Greenwood's
# standard error and the log-log confidence interval, from R's survival package on its own data sets.
# Run from the repository root:
#   Rscript tests/reference/landmark.R
# Output: tests/reference/landmark.json (numbers at 17 significant digits; each result with its R call).
suppressPackageStartupMessages(library(survival))
source("tests/reference/json.R")

results <- list()
add <- function(name, data_call, times) {
  d <- eval(parse(text = data_call))
  call <- sprintf('summary(survfit(Surv(time, status) ~ 1, data = %s, conf.type = "log-log"), times = c(%s))',
                  data_call, paste(times, collapse = ", "))
  fit <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log")
  s <- summary(fit, times = times)
  vec <- function(x) structure(as.numeric(x), as_array = TRUE)
  results[[length(results) + 1]] <<- list(
    name = name, call = call,
    time = vec(d$time), status = vec(d$status),
    times = vec(s$time), surv = vec(s$surv), std_err = vec(s$std.err), n_risk = vec(s$n.risk),
    lower = vec(s$lower), upper = vec(s$upper), conf_int = as.numeric(fit$conf.int))
}
add("aml_maintained", 'subset(aml, x == "Maintained")', c(12, 24, 36))
add("aml", 'aml', c(10, 20, 30))
add("lung_female", 'transform(subset(lung, sex == 2), status = status - 1)', c(180, 365, 540))

out <- list(meta = list(survival = as.character(packageVersion("survival")), R = R.version.string,
                        script = "tests/reference/landmark.R"),
            results = results)
writeLines(to_json(out), "tests/reference/landmark.json")
