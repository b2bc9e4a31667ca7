variable "cidr" {
  type = string
  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "The cidr must be a valid CIDR block."
  }
}
