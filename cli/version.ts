/** The version printed by `tsswarm --version` and `tsswarmd --version`. */
export const version = '0.1.0';
