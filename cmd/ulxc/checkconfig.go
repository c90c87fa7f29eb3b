package main

import "errors"

func cmdCheckconfig(e *env, args []string) error { return errors.New("checkconfig: not built yet") }
