// Installs the RE2 engine for policy regular expressions (see regex.ts). Import for its effect.
import { RE2JS } from 're2js';
import { installRegexEngine } from './regex.js';

installRegexEngine(RE2JS);
