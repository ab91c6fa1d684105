# Reference numbers for tests/estimate/multilevel_models/test_nested.py::test_matches_r_lme4_reference.
# Input: lme4_nested.csv (written by test_nested.write_lme4_input, simulated data).
# Run once from this folder: Rscript lme4_nested.R   (R 4.x, lme4 1.1-31, jsonlite); writes lme4_nested.json.
suppressPackageStartupMessages(library(lme4))
d <- read.csv("lme4_nested.csv", colClasses = c(school = "character", teacher = "character"))
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
m <- lmer(y ~ x + tr + (1 | school/teacher), data = d, REML = TRUE, control = ctrl)
vc <- as.data.frame(VarCorr(m))
out <- list(
  source = paste("R", getRversion(), "lme4", as.character(packageVersion("lme4")),
                 "lmer(y ~ x + tr + (1 | school/teacher), REML = TRUE), bobyqa rhoend 1e-12"),
  beta = unname(fixef(m)),
  se = unname(sqrt(diag(as.matrix(vcov(m))))),
  var_school = vc$vcov[vc$grp == "school"],
  var_teacher = vc$vcov[vc$grp == "teacher:school"],
  sigma2 = sigma(m)^2,
  reml_loglik = as.numeric(logLik(m, REML = TRUE)),
  n_obs = nrow(d)
)
writeLines(jsonlite::toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE), "lme4_nested.json")
