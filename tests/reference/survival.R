# Reference results for tests/test_survival_analysis.py, computed with R's survival package on the
# RADIANT-4 rows in tests/data/radiant4/. Run from the repository root:
#   Rscript tests/reference/survival.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
num <- function(x) as.numeric(x)
# JSON writer that keeps full precision (17 significant digits) for numbers
js <- function(x) {
  if (is.list(x)) {
    inner <- vapply(names(x), function(k) paste0(toJSON(k, auto_unbox = TRUE), ": ", js(x[[k]])), "")
    return(paste0("{\n", paste(inner, collapse = ",\n"), "\n}"))
  }
  if (is.character(x)) return(toJSON(x, auto_unbox = length(x) == 1))
  v <- ifelse(is.na(x), "null", sprintf("%.17g", as.numeric(x)))
  if (length(x) == 1 && !isTRUE(attr(x, "vector"))) return(v)
  paste0("[", paste(v, collapse = ", "), "]")
}
vec <- function(x) structure(x, vector = TRUE)
out <- list()
for (fig in c("2A", "2C")) {
  d <- read.csv(sprintf("tests/data/radiant4/RADIANT4_%s.csv", fig))
  d$x <- as.integer(d$arm == "everolimus")
  res <- list()
  for (arm in c("everolimus", "placebo")) {
    a <- d[d$arm == arm, ]
    for (ct in c("log-log", "log", "plain")) {
      call <- sprintf('survfit(Surv(time, event) ~ 1, data = subset(RADIANT4_%s, arm == "%s"), conf.type = "%s")', fig, arm, ct)
      f <- survfit(Surv(time, event) ~ 1, data = a, conf.type = ct)
      tab <- summary(f)$table
      sm <- summary(f, times = c(6, 12, 24), extend = TRUE)
      res[[paste(arm, ct, sep = "|")]] <- list(
        call = call, time = vec(f$time), surv = vec(f$surv), lower = vec(f$lower), upper = vec(f$upper),
        n_risk = vec(f$n.risk), n_event = vec(f$n.event),
        median = num(tab[["median"]]), median_lcl = num(tab[["0.95LCL"]]), median_ucl = num(tab[["0.95UCL"]]),
        landmark_times = vec(c(6, 12, 24)), landmark_surv = vec(sm$surv), landmark_lower = vec(sm$lower),
        landmark_upper = vec(sm$upper), landmark_n_risk = vec(sm$n.risk))
    }
    call <- sprintf('summary(survfit(Surv(time, event) ~ 1, data = subset(RADIANT4_%s, arm == "%s")), rmean = 24)$table', fig, arm)
    tab <- summary(survfit(Surv(time, event) ~ 1, data = a), rmean = 24)$table
    res[[paste(arm, "rmst24", sep = "|")]] <- list(call = call, rmean = num(tab[["rmean"]]), se = num(tab[["se(rmean)"]]))
  }
  sd <- survdiff(Surv(time, event) ~ x, data = d)
  res[["logrank"]] <- list(call = sprintf("survdiff(Surv(time, event) ~ x, data = RADIANT4_%s)", fig),
                           chisq = num(sd$chisq), pval = num(pchisq(sd$chisq, 1, lower.tail = FALSE)))
  cx <- coxph(Surv(time, event) ~ x, data = d, ties = "efron")
  ci <- confint(cx)
  res[["cox"]] <- list(call = sprintf('coxph(Surv(time, event) ~ x, data = RADIANT4_%s, ties = "efron")  # x = arm == "everolimus"', fig),
                       coef = num(coef(cx)), se = num(sqrt(vcov(cx))[1, 1]), lower = num(ci[1]), upper = num(ci[2]))
  out[[fig]] <- res
}
out$r_version <- R.version.string
out$survival_version <- as.character(packageVersion("survival"))
writeLines(js(out), "tests/reference/survival.json")

# ---- pooling survival summaries (tests/test_survival_pooling.py) and the one-interval summary curve
suppressPackageStartupMessages(library(metafor))
pooled <- list()
surv <- c(0.82, 0.71, 0.77, 0.64, 0.9); lo <- c(0.74, 0.6, 0.65, 0.5, 0.8); hi <- c(0.9, 0.8, 0.86, 0.76, 0.96)
z <- qnorm(0.975)
yi <- log(-log(surv)); vi <- ((hi - lo) / (2 * z))^2 / (surv * log(surv))^2
for (m in c("REML", "DL")) {
  fit <- rma(yi, vi, method = m, control = list(threshold = 1e-12, maxiter = 1000))
  pr <- predict(fit, transf = function(x) exp(-exp(x)))
  pooled[[paste0("landmark_", m)]] <- list(
    call = sprintf('predict(rma(yi = log(-log(surv)), vi = ((hi - lo)/(2*qnorm(0.975)))^2/(surv*log(surv))^2, method = "%s", control = list(threshold = 1e-12, maxiter = 1000)), transf = function(x) exp(-exp(x)))', m),
    surv = vec(surv), ci_low = vec(lo), ci_high = vec(hi),
    pred = pr$pred, ci_lb = pr$ci.lb, ci_ub = pr$ci.ub, tau2 = fit$tau2)
}
med <- c(22.1, 30.5, 18.0, 26.4); mlo <- c(17.0, 24.1, 12.9, 20.2); mhi <- c(28.3, 39.0, 25.2, 35.5)
fit <- rma(log(med), ((log(mhi) - log(mlo)) / (2 * z))^2, method = "REML", control = list(threshold = 1e-12, maxiter = 1000))
pr <- predict(fit, transf = exp)
pooled$median_REML <- list(call = 'predict(rma(log(median), ((log(ci_high) - log(ci_low))/(2*qnorm(0.975)))^2, method = "REML", control = list(threshold = 1e-12, maxiter = 1000)), transf = exp)',
                           median = vec(med), ci_low = vec(mlo), ci_high = vec(mhi),
                           pred = pr$pred, ci_lb = pr$ci.lb, ci_ub = pr$ci.ub, tau2 = fit$tau2)
# summary curve with one interval reduces to DerSimonian-Laird on arcsin(sqrt(p)), variance 1/(4n)
p <- c(0.81, 0.74, 0.88, 0.69, 0.79, 0.85); n <- c(120, 80, 200, 60, 150, 95)
fit <- rma(asin(sqrt(p)), 1 / (4 * n), method = "DL")
pooled$arcsine_DL <- list(call = 'rma(yi = asin(sqrt(p)), vi = 1/(4*n), method = "DL")', p = vec(p), n = vec(n),
                          mu = as.numeric(coef(fit)), se = fit$se, tau2 = fit$tau2, I2 = fit$I2, QE = fit$QE)
out2 <- list(pooling = pooled)
writeLines(js(out2), "tests/reference/survival_pooling.json")
