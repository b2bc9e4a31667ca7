variable "db_password" {
  type      = string
  sensitive = true
}

variable "db_user" {
  type    = string
  default = "admin"
}

resource "terraform_data" "db" {
  input = {
    user     = var.db_user
    password = var.db_password
  }
}

output "user" {
  value = var.db_user
}

output "password" {
  value     = var.db_password
  sensitive = true
}

output "connection" {
  value     = "postgres://${var.db_user}:${var.db_password}@db.internal:5432"
  sensitive = true
}

output "db" {
  value     = terraform_data.db.output
  sensitive = true
}

output "password_facts" {
  value = {
    length = length(var.db_password)
    sha256 = sha256(var.db_password)
  }
  sensitive = true
}

output "plain_but_marked" {
  value     = "not secret"
  sensitive = true
}
