-- One database per component of the production profile (run once, on an empty volume).
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
CREATE DATABASE predictions;
