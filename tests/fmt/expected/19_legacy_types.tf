variable "s" {
  type = string
}
variable "l" {
  type = list(string)
}
variable "m" {
  type = map(string)
}
variable "bare_list" {
  type = list(any)
}
variable "bare_map" {
  type = map(any)
}
variable "modern" {
  type = list(object({ name = string, size = number }))
}
